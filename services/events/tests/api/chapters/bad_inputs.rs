//! Bad input to `ChapterService` is INVALID_ARGUMENT naming its field, and changes nothing.

use super::*;

async fn bad_inputs_are_invalid_argument_naming_the_field(backend: Backend) {
    let world = World::start_default(backend).await.unwrap();
    let (_, client) = world.chapter_member("Anna").await.unwrap();
    let chapter = create(&client, paris()).await;
    let id = chapter.id.clone();
    let create_with = |edit: fn(&mut pb::Chapter)| {
        let mut chapter = paris();
        edit(&mut chapter);
        pb::CreateChapterRequest {
            chapter: Some(chapter),
            request_id: String::new(),
        }
    };
    let update_with = |chapter: pb::Chapter, paths: &[&str]| pb::UpdateChapterRequest {
        chapter: Some(chapter),
        update_mask: Some(FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
    };
    let cases: Vec<(&str, &str, Call)> = vec![
        (
            "create without a chapter",
            "chapter",
            call!(client, create_chapter, pb::CreateChapterRequest::default()),
        ),
        (
            "empty name",
            "chapter.name",
            call!(
                client,
                create_chapter,
                create_with(|c| c.name = "  ".into())
            ),
        ),
        (
            "name of 101 characters",
            "chapter.name",
            call!(
                client,
                create_chapter,
                create_with(|c| c.name = "n".repeat(101))
            ),
        ),
        (
            "name with a control character",
            "chapter.name",
            call!(
                client,
                create_chapter,
                create_with(|c| c.name = "Paris\u{7}".into())
            ),
        ),
        (
            "empty city",
            "chapter.city",
            call!(
                client,
                create_chapter,
                create_with(|c| c.city = String::new())
            ),
        ),
        (
            "city of 101 characters",
            "chapter.city",
            call!(
                client,
                create_chapter,
                create_with(|c| c.city = "c".repeat(101))
            ),
        ),
        (
            "no time zone",
            "chapter.time_zone",
            call!(
                client,
                create_chapter,
                create_with(|c| c.time_zone = String::new())
            ),
        ),
        (
            "unknown time zone",
            "chapter.time_zone",
            call!(
                client,
                create_chapter,
                create_with(|c| c.time_zone = "Mars/Olympus_Mons".into())
            ),
        ),
        (
            "offset instead of a zone",
            "chapter.time_zone",
            call!(
                client,
                create_chapter,
                create_with(|c| c.time_zone = "+02:00".into())
            ),
        ),
        (
            "description of 2001 characters",
            "chapter.description",
            call!(
                client,
                create_chapter,
                create_with(|c| c.description = "d".repeat(2001))
            ),
        ),
        (
            "request id of 101 characters",
            "request_id",
            call!(
                client,
                create_chapter,
                pb::CreateChapterRequest {
                    chapter: Some(paris()),
                    request_id: "r".repeat(101),
                }
            ),
        ),
        (
            "get without an id",
            "chapter_id",
            call!(client, get_chapter, pb::GetChapterRequest::default()),
        ),
        (
            "get with a malformed id",
            "chapter_id",
            call!(
                client,
                get_chapter,
                pb::GetChapterRequest {
                    chapter_id: "paris".into(),
                }
            ),
        ),
        (
            "list with a negative page size",
            "page_size",
            call!(
                client,
                list_chapters,
                pb::ListChaptersRequest {
                    page_size: -1,
                    ..Default::default()
                }
            ),
        ),
        (
            "list with a forged page token",
            "page_token",
            call!(
                client,
                list_chapters,
                pb::ListChaptersRequest {
                    page_token: "eyJpZCI6MX0.AAAA".into(),
                    ..Default::default()
                }
            ),
        ),
        (
            "list with a city of 101 characters",
            "city",
            call!(
                client,
                list_chapters,
                pb::ListChaptersRequest {
                    city: "c".repeat(101),
                    ..Default::default()
                }
            ),
        ),
        (
            "update without a mask",
            "update_mask",
            call!(client, update_chapter, update_with(chapter.clone(), &[])),
        ),
        (
            "update of a read-only path",
            "update_mask",
            call!(
                client,
                update_chapter,
                update_with(chapter.clone(), &["member_count"])
            ),
        ),
        (
            "update to an empty name",
            "chapter.name",
            call!(
                client,
                update_chapter,
                update_with(
                    pb::Chapter {
                        name: String::new(),
                        ..chapter.clone()
                    },
                    &["name"]
                )
            ),
        ),
        (
            "update to an unknown time zone",
            "chapter.time_zone",
            call!(
                client,
                update_chapter,
                update_with(
                    pb::Chapter {
                        time_zone: "Europe/Atlantis".into(),
                        ..chapter.clone()
                    },
                    &["time_zone"]
                )
            ),
        ),
        (
            "update with a malformed id",
            "chapter.id",
            call!(
                client,
                update_chapter,
                update_with(
                    pb::Chapter {
                        id: "nope".into(),
                        ..chapter.clone()
                    },
                    &["name"]
                )
            ),
        ),
        (
            "join with a malformed id",
            "chapter_id",
            call!(
                client,
                join_chapter,
                pb::JoinChapterRequest {
                    chapter_id: "nope".into(),
                }
            ),
        ),
        (
            "leave without an id",
            "chapter_id",
            call!(client, leave_chapter, pb::LeaveChapterRequest::default()),
        ),
        (
            "add a malformed organiser id",
            "member_id",
            call!(
                client,
                add_organizer,
                pb::AddOrganizerRequest {
                    chapter_id: id.clone(),
                    member_id: "bruno".into(),
                }
            ),
        ),
        (
            "list members with a negative page size",
            "page_size",
            call!(
                client,
                list_chapter_members,
                pb::ListChapterMembersRequest {
                    chapter_id: id.clone(),
                    page_size: -5,
                    page_token: String::new(),
                }
            ),
        ),
        (
            "list members with a ListChapters token",
            "page_token",
            call!(
                client,
                list_chapter_members,
                pb::ListChapterMembersRequest {
                    chapter_id: id.clone(),
                    page_size: 0,
                    page_token: "eyJpZCI6MX0.AAAA".into(),
                }
            ),
        ),
    ];
    assert!(cases.len() >= 15);
    for (case, field, call) in cases {
        let status = call.await.expect_err(case);
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        assert_eq!(violated_fields(&status), vec![field.to_owned()], "{case}");
    }
    // Nothing was created or changed by the refused calls.
    let anonymous = world.events.anonymous();
    assert_eq!(list_all(&anonymous, "", 0).await, vec![chapter.clone()]);
    world.stop().await.unwrap();
}

backend_tests!(bad_inputs_are_invalid_argument_naming_the_field,);
