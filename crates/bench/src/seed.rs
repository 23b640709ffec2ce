//! Rows a scenario needs before it starts, written straight into a service's database where
//! the API would take minutes for reasons the scenario does not measure: registering 10,000
//! members is 10,000 argon2 hashes. Values are bound through sqlx exactly as the services
//! bind theirs (ids as text, timestamps as `DateTime<Utc>`), so the services read them as
//! their own. What a scenario measures always goes through the API.

use chrono::{DateTime, Utc};
use rendezvous_common::db::Db;
use rendezvous_common::with_db;
use uuid::Uuid;

/// The password of every seeded member (what `login` signs in with).
pub const PASSWORD: &str = "bench-password-0123456789";
/// Rows per INSERT: well under SQLite's 32,766 bound parameters.
const BATCH: usize = 500;

/// A seeded member.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
}

/// `count` members of `city` in members' database, all with [`PASSWORD`] (hashed once, with
/// the service's own argon2 parameters), public profiles.
pub async fn members(db: &Db, count: usize, city: &str) -> anyhow::Result<Vec<Member>> {
    let hash = tokio::task::spawn_blocking(|| {
        rendezvous_members::domain::password::hash(
            PASSWORD,
            &mut rendezvous_members::domain::password::Memory::new(),
        )
        .map_err(|error| anyhow::anyhow!("hashing the seed password: {error}"))
    })
    .await??;
    let run = Uuid::now_v7().simple().to_string();
    let members: Vec<Member> = (0..count)
        .map(|i| Member {
            id: Uuid::now_v7(),
            email: format!("bench-{run}-{i}@example.com"),
        })
        .collect();
    let now = Utc::now();
    for batch in members.chunks(BATCH) {
        with_db!(db, |pool| {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO members (id, email, password_hash, display_name, city, city_key, \
                 locale, time_zone, visibility, findable_by_contact_details, created_at, \
                 updated_at) ",
            );
            insert.push_values(batch, |mut row, member| {
                row.push_bind(member.id.to_string())
                    .push_bind(member.email.clone())
                    .push_bind(hash.clone())
                    .push_bind(format!("Member {}", &member.id.simple().to_string()[20..]))
                    .push_bind(city.to_owned())
                    .push_bind(city.to_lowercase())
                    .push_bind("en")
                    .push_bind("Europe/Paris")
                    .push_bind("public")
                    .push_bind(true)
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(pool).await?;
        });
    }
    Ok(members)
}

/// Adds `members` to `chapter` (events' database) as members who joined at `at`.
pub async fn chapter_members(
    db: &Db,
    chapter: Uuid,
    members: &[Member],
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    for batch in members.chunks(BATCH) {
        with_db!(db, |pool| {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO chapter_members (chapter_id, member_id, role, joined_at) ",
            );
            insert.push_values(batch, |mut row, member| {
                row.push_bind(chapter.to_string())
                    .push_bind(member.id.to_string())
                    .push_bind("member")
                    .push_bind(at);
            });
            insert.build().execute(pool).await?;
        });
    }
    Ok(())
}

/// Turns off, for `members`, the emails their RSVPs would send (confirmation, reminders), as
/// a member may in their preferences: the email worker's pace is not what the RSVP and
/// browse scenarios measure, and it would keep the cores busy between runs. Inbox rows are
/// still written.
pub async fn without_emails(db: &Db, members: &[Member]) -> anyhow::Result<()> {
    use rendezvous_notifications::domain::{channel_name, kind_name};
    use rendezvous_proto::notifications::v1::{Channel, NotificationKind};
    let email = channel_name(Channel::Email);
    let kinds = [
        kind_name(NotificationKind::RsvpConfirmed),
        kind_name(NotificationKind::EventReminder),
    ];
    let rows: Vec<(String, &str)> = members
        .iter()
        .flat_map(|m| kinds.iter().map(move |kind| (m.id.to_string(), *kind)))
        .collect();
    for batch in rows.chunks(BATCH) {
        with_db!(db, |pool| {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO channel_preferences (member_id, kind, channel, enabled) ",
            );
            insert.push_values(batch, |mut row, (member, kind)| {
                row.push_bind(member.clone())
                    .push_bind(*kind)
                    .push_bind(email)
                    .push_bind(false);
            });
            insert.build().execute(pool).await?;
        });
    }
    Ok(())
}
