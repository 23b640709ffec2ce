//! The authorisation matrix of `ChapterService` and of the series methods of `EventService`
//! (issue 10, point 8): each method called on one chapter, and on one series of it, by
//! anonymous, a member outside the chapter, a chapter member, the series' host and the
//! chapter's organiser gets the code the policy gives; refused calls change nothing.

use super::*;

use rendezvous_common::auth::ServiceName;

use rendezvous_proto::prost_types::FieldMask;
use rendezvous_testkit::{ChapterClient, code};

use crate::helpers::{first_thursdays, paris_series};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Anonymous,
    /// A credential a service mints for events.
    Service(ServiceName),
    Outsider,
    ChapterMember,
    Host,
    Organiser,
}

/// Refusals first, the organiser and the host last.
const ROLES: [Role; 8] = [
    Role::Anonymous,
    Role::Service(ServiceName::Members),
    Role::Service(ServiceName::Events),
    Role::Service(ServiceName::Notifications),
    Role::Outsider,
    Role::ChapterMember,
    Role::Host,
    Role::Organiser,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    CreateChapter,
    GetChapter,
    ListChapters,
    UpdateChapter,
    ListChapterMembers,
    GetChapterHealth,
    AddOrganizer,
    CreateSeries,
    GetSeries,
    ListSeries,
    UpdateSeries,
    JoinChapter,
    LeaveChapter,
    CancelSeries,
}

/// In the order called: joining and leaving change who is in the chapter, cancelling ends
/// the series, so they come last.
const METHODS: [Method; 14] = [
    Method::CreateChapter,
    Method::GetChapter,
    Method::ListChapters,
    Method::UpdateChapter,
    Method::ListChapterMembers,
    Method::GetChapterHealth,
    Method::AddOrganizer,
    Method::CreateSeries,
    Method::GetSeries,
    Method::ListSeries,
    Method::UpdateSeries,
    Method::JoinChapter,
    Method::LeaveChapter,
    Method::CancelSeries,
];

fn expected(role: Role, method: Method) -> Code {
    use Method as M;
    use Role as R;
    match (method, role) {
        // Chapters are found by anyone, signed in or not (a service credential reads as
        // anonymous here); series too, but EventService refuses a service outright.
        (M::GetChapter | M::ListChapters, _) => Code::Ok,
        (_, R::Service(_)) => Code::Unauthenticated,
        (M::GetSeries | M::ListSeries, _) => Code::Ok,
        (_, R::Anonymous) => Code::Unauthenticated,
        // Any member starts a chapter, joins one, leaves one (idempotent); the organiser
        // too, as the one made organiser by AddOrganizer stays (the last one cannot leave:
        // checked after the matrix).
        (M::CreateChapter | M::JoinChapter | M::LeaveChapter, _) => Code::Ok,
        // Its organisers run it.
        (M::UpdateChapter | M::AddOrganizer, R::Organiser) => Code::Ok,
        (M::UpdateChapter | M::AddOrganizer, _) => Code::PermissionDenied,
        // Its health is theirs alone (before AddOrganizer makes the spare one).
        (M::GetChapterHealth, R::Organiser) => Code::Ok,
        (M::GetChapterHealth, _) => Code::PermissionDenied,
        // Its members see who else is in it.
        (M::ListChapterMembers, R::Outsider) => Code::PermissionDenied,
        (M::ListChapterMembers, _) => Code::Ok,
        // A series in a chapter: by those who belong to it.
        (M::CreateSeries, R::Outsider) => Code::PermissionDenied,
        (M::CreateSeries, _) => Code::Ok,
        // Only its host changes or ends it.
        (M::UpdateSeries | M::CancelSeries, R::Host) => Code::Ok,
        (M::UpdateSeries | M::CancelSeries, _) => Code::PermissionDenied,
    }
}

struct Cast {
    outsider: TestMember,
    chapter_member: TestMember,
    host: TestMember,
    organiser: TestMember,
    /// Made an organiser by the successful AddOrganizer.
    spare: TestMember,
    chapter_id: String,
    series_id: String,
}

impl Cast {
    fn member(&self, role: Role) -> Option<&TestMember> {
        match role {
            Role::Anonymous | Role::Service(_) => None,
            Role::Outsider => Some(&self.outsider),
            Role::ChapterMember => Some(&self.chapter_member),
            Role::Host => Some(&self.host),
            Role::Organiser => Some(&self.organiser),
        }
    }
}

async fn cast(world: &World) -> Cast {
    let (chapter_member, _) = world.member("Chapter member").await.unwrap();
    let (host, host_events) = world.member("Series host").await.unwrap();
    let (spare, _) = world.member("Spare").await.unwrap();
    let (organiser, chapter) = organised_chapter(world, &[&chapter_member, &host, &spare]).await;
    let series_id = create_series(&host_events, &chapter.id)
        .await
        .unwrap()
        .into_inner()
        .series
        .unwrap()
        .id;
    Cast {
        outsider: world.member("Outsider").await.unwrap().0,
        chapter_member,
        host,
        organiser,
        spare,
        chapter_id: chapter.id,
        series_id,
    }
}

async fn create_series(
    client: &EventClient,
    chapter_id: &str,
) -> Result<tonic::Response<pb::CreateSeriesResponse>, tonic::Status> {
    let mut series = paris_series(first_thursdays(3), "2027-06-03", "First Thursday coffee");
    series.chapter_id = chapter_id.to_owned();
    client
        .clone()
        .create_series(pb::CreateSeriesRequest {
            series: Some(series),
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
}

/// Calls `method` as `role`: with its chapter client and its event client.
async fn call(
    world: &World,
    cast: &Cast,
    role: Role,
    chapters: ChapterClient,
    events: EventClient,
    method: Method,
) -> Code {
    let mut c = chapters;
    let mut e = events;
    let chapter_id = cast.chapter_id.clone();
    let series_id = cast.series_id.clone();
    let result = match method {
        Method::CreateChapter => c
            .create_chapter(pb::CreateChapterRequest {
                chapter: Some(pb::Chapter {
                    name: format!("Chapter of {role:?}"),
                    city: "Lyon".to_owned(),
                    time_zone: "Europe/Paris".to_owned(),
                    ..Default::default()
                }),
                request_id: uuid::Uuid::now_v7().to_string(),
            })
            .await
            .map(drop),
        Method::GetChapter => c
            .get_chapter(pb::GetChapterRequest { chapter_id })
            .await
            .map(drop),
        Method::ListChapters => c
            .list_chapters(pb::ListChaptersRequest::default())
            .await
            .map(drop),
        Method::GetChapterHealth => c
            .get_chapter_health(pb::GetChapterHealthRequest {
                chapter_id: chapter_id.clone(),
            })
            .await
            .map(drop),
        Method::UpdateChapter => {
            let current = get_chapter(world, cast).await;
            c.update_chapter(pb::UpdateChapterRequest {
                chapter: Some(pb::Chapter {
                    id: chapter_id,
                    description: format!("Written by {role:?}"),
                    etag: current.etag,
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["description".to_owned()],
                }),
            })
            .await
            .map(drop)
        }
        Method::ListChapterMembers => c
            .list_chapter_members(pb::ListChapterMembersRequest {
                chapter_id,
                ..Default::default()
            })
            .await
            .map(drop),
        Method::AddOrganizer => c
            .add_organizer(pb::AddOrganizerRequest {
                chapter_id,
                member_id: cast.spare.id.clone(),
            })
            .await
            .map(drop),
        Method::JoinChapter => c
            .join_chapter(pb::JoinChapterRequest { chapter_id })
            .await
            .map(drop),
        Method::LeaveChapter => c
            .leave_chapter(pb::LeaveChapterRequest { chapter_id })
            .await
            .map(drop),
        Method::CreateSeries => create_series(&e, &chapter_id).await.map(drop),
        Method::GetSeries => e
            .get_series(pb::GetSeriesRequest { series_id })
            .await
            .map(drop),
        Method::ListSeries => e
            .list_series(pb::ListSeriesRequest {
                chapter_id,
                ..Default::default()
            })
            .await
            .map(drop),
        Method::UpdateSeries => {
            let current = get_series(world, cast).await;
            let mut template = current.template.unwrap_or_default();
            template.title = format!("Written by {role:?}");
            e.update_series(pb::UpdateSeriesRequest {
                series: Some(pb::Series {
                    id: series_id,
                    template: Some(template),
                    etag: current.etag,
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["template.title".to_owned()],
                }),
            })
            .await
            .map(drop)
        }
        Method::CancelSeries => e
            .cancel_series(pb::CancelSeriesRequest {
                series_id,
                reason: format!("Cancelled by {role:?}"),
            })
            .await
            .map(drop),
    };
    code(result)
}

async fn get_chapter(world: &World, cast: &Cast) -> pb::Chapter {
    world
        .events
        .anonymous()
        .get_chapter(pb::GetChapterRequest {
            chapter_id: cast.chapter_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .chapter
        .unwrap()
}

async fn get_series(world: &World, cast: &Cast) -> pb::Series {
    world
        .events
        .events_anonymous()
        .get_series(pb::GetSeriesRequest {
            series_id: cast.series_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .series
        .unwrap()
}

/// Nothing the callers before the host's or the organiser's own call tried took effect.
async fn assert_untouched(world: &World, cast: &Cast, method: Method) {
    let chapter = get_chapter(world, cast).await;
    let series = get_series(world, cast).await;
    match method {
        Method::UpdateChapter => assert_eq!(chapter.description, "", "{method:?}"),
        Method::AddOrganizer => assert_eq!(
            chapter.organizer_ids,
            std::slice::from_ref(&cast.organiser.id)
        ),
        Method::UpdateSeries => {
            let title = series.template.unwrap_or_default().title;
            assert_eq!(title, "First Thursday coffee", "{method:?}");
        }
        Method::CancelSeries => {
            assert_eq!(
                series.state,
                i32::from(pb::SeriesState::Active),
                "{method:?}"
            );
        }
        _ => {}
    }
}

async fn chapter_and_series_matrix(backend: Backend) {
    let world = World::start(backend, now0()).await.unwrap();
    let cast = cast(&world).await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for method in METHODS {
        for role in ROLES {
            // Before the call of the one allowed to make it: no one else's took effect.
            let want = expected(role, method);
            if matches!(role, Role::Host | Role::Organiser) && want == Code::Ok {
                assert_untouched(&world, &cast, method).await;
            }
            let (chapters, events) = match (role, cast.member(role)) {
                (Role::Service(issuer), _) => as_service(&world, issuer),
                (_, None) => (world.events.anonymous(), world.events.events_anonymous()),
                (_, Some(member)) => {
                    let token = world.token(member).await.unwrap();
                    (
                        world.events.client_with_token(&token),
                        world.events.events_with_token(&token),
                    )
                }
            };
            let got = call(&world, &cast, role, chapters.clone(), events, method).await;
            checked += 1;
            if got != want {
                failures.push(format!("{role:?} {method:?}: want {want:?}, got {got:?}"));
            }
            // A member who left joins again, so the next cells see the same cast.
            if method == Method::LeaveChapter && got == Code::Ok && role != Role::Outsider {
                chapters
                    .clone()
                    .join_chapter(pb::JoinChapterRequest {
                        chapter_id: cast.chapter_id.clone(),
                    })
                    .await
                    .unwrap();
            }
        }
    }
    assert_eq!(checked, METHODS.len() * ROLES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The successful calls did what they said.
    let series = get_series(&world, &cast).await;
    assert_eq!(series.state, i32::from(pb::SeriesState::Cancelled));
    assert_eq!(series.template.unwrap_or_default().title, "Written by Host");
    let chapter = get_chapter(&world, &cast).await;
    assert_eq!(chapter.description, "Written by Organiser");
    assert_eq!(chapter.organizer_ids, std::slice::from_ref(&cast.spare.id));
    let last = world
        .events
        .client_with_token(&world.token(&cast.spare).await.unwrap())
        .leave_chapter(pb::LeaveChapterRequest {
            chapter_id: cast.chapter_id.clone(),
        })
        .await;
    assert_eq!(
        code(last),
        Code::FailedPrecondition,
        "the last organiser left"
    );
    world.stop().await.unwrap();
}

backend_tests!(chapter_and_series_matrix,);
