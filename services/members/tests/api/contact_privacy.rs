//! Membership stays private: ImportContacts finds only members who let themselves be found by
//! email or profile URL (`findable_by_contact_details`, on by default for PUBLIC profiles,
//! off for CONNECTIONS ones, never for PRIVATE ones), and a member it may not find reads
//! exactly as someone who is not a member.

use crate::helpers::*;

use rendezvous_proto::members::v1 as pb;
use rendezvous_testkit::{
    Backend, TestDb, TestMember, backend_tests, connect, connections_preamble,
};

async fn import_of(
    member: &TestMember,
    csv: &str,
    send_requests: bool,
) -> pb::ImportContactsResponse {
    import_contacts(member, csv, send_requests, &[])
        .await
        .unwrap()
}

/// Whether an import of `member`'s email alone by `importer` finds them.
async fn found(importer: &TestMember, member: &TestMember) -> bool {
    let csv = contacts_file(&[("Someone", &member.email)]);
    let imported = import_of(importer, &csv, false).await;
    let ids: Vec<&str> = imported
        .matched
        .iter()
        .map(|m| m.member_id.as_str())
        .collect();
    assert!(ids.is_empty() || ids == [member.id.as_str()], "{ids:?}");
    // Not found reads as not a member.
    assert_eq!(imported.unmatched_count, i64::from(ids.is_empty()));
    !ids.is_empty()
}

async fn own_profile(member: &TestMember) -> pb::Member {
    get_member(&member.client, "me").await.unwrap()
}

async fn set_visibility(member: &TestMember, visibility: pb::ProfileVisibility) -> pb::Member {
    set!(member, visibility: visibility)
}

async fn set_findable(member: &TestMember, findable: bool) -> pb::Member {
    set!(member, findable_by_contact_details: findable)
}

async fn a_private_member_is_never_matched_whatever_the_setting(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    // Bruno goes private and asks to be findable in the same update; Chloe, private too, is
    // even Anna's connection.
    let profile = edit!(
        &bruno,
        [visibility, findable_by_contact_details],
        visibility: pb::ProfileVisibility::Private,
        findable_by_contact_details: true,
    )
    .unwrap();
    assert!(profile.findable_by_contact_details);
    connect(&anna, &chloe).await.unwrap();
    set_visibility(&chloe, pb::ProfileVisibility::Private).await;

    let csv = contacts_file(&[("Bruno", &bruno.email), ("Chloe", &chloe.email)]);
    let imported = import_of(&anna, &csv, true).await;
    assert!(imported.matched.is_empty(), "{imported:?}");
    assert_eq!((imported.unmatched_count, imported.requests_sent), (2, 0));
    assert!(no_requests(&bruno, pb::RequestDirection::Incoming).await);
    stack.stop().await.unwrap();
}

async fn a_hidden_member_reads_exactly_as_someone_who_is_not_a_member(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    set_visibility(&bruno, pb::ProfileVisibility::Private).await;
    // Twice each, in upper case once: a member seen once and skipped the second time would
    // count differently from two rows of nobody.
    let upper = bruno.email.to_uppercase();
    let hidden = contacts_file(&[("Bruno", &bruno.email), ("Bruno", &upper)]);
    let nobody = contacts_file(&[
        ("Nobody", "nobody.at.all@example.org"),
        ("Nobody", "NOBODY.AT.ALL@example.org"),
    ]);
    for send_requests in [false, true] {
        let a = import_of(&anna, &hidden, send_requests).await;
        let b = import_of(&anna, &nobody, send_requests).await;
        assert_eq!(a, b);
        assert_eq!((a.unmatched_count, a.total_contacts), (2, 2));
    }
    stack.stop().await.unwrap();
}

async fn a_connections_only_member_is_found_only_after_opting_in(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    // The default follows the visibility: a change to CONNECTIONS turns it off.
    let profile = set_visibility(&bruno, pb::ProfileVisibility::Connections).await;
    assert!(!profile.findable_by_contact_details);
    assert!(!found(&anna, &bruno).await);

    assert!(set_findable(&bruno, true).await.findable_by_contact_details);
    assert!(found(&anna, &bruno).await);
    // Another field's update leaves the choice alone.
    set!(&bruno, headline: "Still findable");
    assert!(own_profile(&bruno).await.findable_by_contact_details);
    assert!(found(&anna, &bruno).await);
    stack.stop().await.unwrap();
}

async fn a_public_member_who_opts_out_is_not_found_by_email_or_url(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    set!(&bruno, linkedin_url: "https://www.linkedin.com/in/bruno-martin");
    // New members are PUBLIC, and found.
    assert!(own_profile(&bruno).await.findable_by_contact_details);
    assert!(found(&anna, &bruno).await);

    set_findable(&bruno, false).await;
    assert!(!found(&anna, &bruno).await);
    let mut by_url = connections_preamble();
    by_url.push_str("Bruno,Martin,https://www.linkedin.com/in/bruno-martin,,,,\n");
    let imported = import_of(&anna, &by_url, false).await;
    assert!(imported.matched.is_empty());
    assert_eq!(imported.unmatched_count, 1);

    // Going PUBLIC again (from CONNECTIONS) takes PUBLIC's default back.
    set_visibility(&bruno, pb::ProfileVisibility::Connections).await;
    assert!(
        set_visibility(&bruno, pb::ProfileVisibility::Public)
            .await
            .findable_by_contact_details
    );
    assert!(found(&anna, &bruno).await);
    stack.stop().await.unwrap();
}

async fn a_connection_is_found_whatever_their_setting_but_not_by_others(backend: Backend) {
    let (stack, [anna, bruno, chloe]) = stack_of(backend, ["Anna", "Bruno", "Chloe"]).await;
    connect(&anna, &bruno).await.unwrap();
    set_visibility(&bruno, pb::ProfileVisibility::Connections).await;
    set_findable(&bruno, false).await;

    let csv = contacts_file(&[("Bruno", &bruno.email)]);
    let imported = import_of(&anna, &csv, false).await;
    assert_eq!(imported.matched.len(), 1, "{imported:?}");
    assert_eq!(imported.matched[0].member_id, bruno.id);
    assert!(imported.matched[0].connected);
    // Chloe does not know him.
    assert!(!found(&chloe, &bruno).await);
    stack.stop().await.unwrap();
}

async fn the_setting_is_shown_only_to_the_member_themself(backend: Backend) {
    let (stack, [anna, bruno]) = stack_of(backend, ["Anna", "Bruno"]).await;
    connect(&anna, &bruno).await.unwrap();
    assert!(own_profile(&bruno).await.findable_by_contact_details);
    let seen = get_member(&anna.client, &bruno.id).await.unwrap();
    assert!(!seen.findable_by_contact_details, "{seen:?}");
    stack.stop().await.unwrap();
}

async fn members_from_before_the_setting_get_their_visibilitys_default(backend: Backend) {
    use rendezvous_common::db::{Db, Migrations};
    use rendezvous_members::store::{MIGRATIONS, Store};
    let test_db = TestDb::new(backend).await.unwrap();
    let db = Db::connect(&test_db.url).await.unwrap();
    let before = Migrations {
        sqlite: &MIGRATIONS.sqlite[..7],
        postgres: &MIGRATIONS.postgres[..7],
    };
    db.migrate(&before).await.unwrap();
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for visibility in ["public", "connections", "private"] {
        let id = uuid::Uuid::now_v7();
        rendezvous_common::with_db!(&db, |pool| {
            sqlx::query(
                "INSERT INTO members (id, email, display_name, locale, time_zone, visibility, \
                 created_at, updated_at) VALUES ($1, $2, 'Old', 'en', 'UTC', $3, $4, $4)",
            )
            .bind(id.to_string())
            .bind(format!("{visibility}@example.com"))
            .bind(visibility)
            .bind(now)
            .execute(pool)
            .await
            .unwrap();
        });
        ids.push(id);
    }
    db.migrate(&MIGRATIONS).await.unwrap();
    let store = Store::new(db.clone());
    let mut findable = Vec::new();
    for id in ids {
        let member = store.member(id).await.unwrap().unwrap();
        findable.push(member.findable_by_contact_details);
    }
    assert_eq!(findable, [true, false, false]);
    db.close().await;
}

backend_tests!(
    members_from_before_the_setting_get_their_visibilitys_default,
    a_private_member_is_never_matched_whatever_the_setting,
    a_hidden_member_reads_exactly_as_someone_who_is_not_a_member,
    a_connections_only_member_is_found_only_after_opting_in,
    a_public_member_who_opts_out_is_not_found_by_email_or_url,
    a_connection_is_found_whatever_their_setting_but_not_by_others,
    the_setting_is_shown_only_to_the_member_themself,
);
