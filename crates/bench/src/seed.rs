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

/// What [`coffee_world`] wrote.
#[derive(Clone, Copy, Debug)]
pub struct CoffeeWorld {
    pub members: u64,
    /// Connections of each member.
    pub connections_each: u64,
    /// Connection rows (each joins two members).
    pub connections: u64,
}

/// The id of seeded coffee member `i` (SQL over an integer expression): a valid UUID whose
/// text sorts as `i` does, so a pair is ordered in SQL as the services order theirs.
fn coffee_member_id(db: &Db, i: &str) -> String {
    match db {
        Db::Sqlite(_) => format!("printf('00000000-0000-7000-8000-%012x', {i})"),
        Db::Postgres(_) => format!("('00000000-0000-7000-8000-' || lpad(to_hex({i}), 12, '0'))"),
    }
}

/// `seconds` (SQL over integers) before the Unix time bound at `$base`, as a timestamp in the
/// form sqlx writes one (on SQLite RFC 3339 text, which whole seconds match exactly).
fn seconds_before(db: &Db, base: &str, seconds: &str) -> String {
    match db {
        Db::Sqlite(_) => {
            format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {base} - ({seconds}), 'unixepoch')")
        }
        Db::Postgres(_) => format!("to_timestamp((CAST({base} AS BIGINT) - ({seconds}))::float8)"),
    }
}

/// The world of a coffee round in members' (fresh) database: `members` members spread over
/// `cities` (member `i` in city `i mod cities`), all opted in to coffee (fortnightly, Tuesday
/// mornings, never proposed one), each connected to `connections_each` others of their city,
/// none met in person, no block and no do-not-pair list: every connection is a candidate.
/// Member `i` is connected to `i ± k·cities` for k = 1 … connections/2 (a ring per city), each
/// connection made at a scattered time in the two years before `now`, so the round's
/// oldest-first order is not the members' order. Rows are made by the database from a
/// generated series (`INSERT … SELECT`, half a million connections a statement), with the
/// services' indexes in place.
pub async fn coffee_world(
    db: &Db,
    members: u64,
    connections_each: u64,
    cities: &[&str],
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<CoffeeWorld> {
    use rendezvous_members::domain::coffee::{Cadence, Window, windows_to_stored};
    let city_count = u64::try_from(cities.len())?.max(1);
    // Whole cities, and rings that do not wrap onto themselves (each pair made once).
    let members = (members / city_count).max(2) * city_count;
    let per_city = members / city_count;
    let half = (connections_each / 2).clamp(1, (per_city - 1) / 2);
    let connections_each = 2 * half;
    let (total, step) = (i64::try_from(members)?, i64::try_from(city_count)?);
    for (c, city) in (0_i64..).zip(cities) {
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL \
             SELECT i + $2 FROM n WHERE i + $2 < $3) \
             INSERT INTO members (id, email, display_name, city, city_key, locale, time_zone, \
             visibility, findable_by_contact_details, created_at, updated_at) \
             SELECT {}, 'coffee-' || i || '@example.com', 'Member ' || i, $4, $5, 'en', \
             'Europe/Paris', 'public', TRUE, $6, $6 FROM n",
            coffee_member_id(db, "i")
        );
        with_db!(db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(c)
                .bind(step)
                .bind(total)
                .bind(*city)
                .bind(city.to_lowercase())
                .bind(now)
                .execute(pool)
                .await?;
        });
    }
    let tuesday_mornings = windows_to_stored(&[Window {
        weekday: chrono::Weekday::Tue,
        start: 8 * 60,
        end: 10 * 60,
    }]);
    with_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO coffee_settings (member_id, opted_in, cadence, availability, \
             time_zone, preferred_areas, snoozed_until, updated_at) \
             SELECT id, TRUE, $1, $2, '', '[]', NULL, $3 FROM members",
        )
        .bind(Cadence::Fortnightly.as_str())
        .bind(tuesday_mornings)
        .bind(now)
        .execute(pool)
        .await?;
    });
    let (a, b) = (
        "CASE WHEN i < o THEN i ELSE o END",
        "CASE WHEN i < o THEN o ELSE i END",
    );
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL \
         SELECT i + 1 FROM n WHERE i + 1 < $2), \
         d(k) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT k + 1 FROM d WHERE k < $3) \
         INSERT INTO connections (member_a, member_b, created_at) \
         SELECT {}, {}, {} FROM (SELECT i, k, (i + k * $4) % $5 AS o FROM n, d) AS p",
        coffee_member_id(db, a),
        coffee_member_id(db, b),
        // Scattered over two years by the pair: member i's in strides of 7919 s (2.2 hours).
        seconds_before(db, "$6", "(i * 7919 + k * 104729) % 63072000"),
    );
    let chunk = (500_000 / half).max(1);
    let mut first = 0;
    while first < members {
        let end = (first + chunk).min(members);
        with_db!(db, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(i64::try_from(first)?)
                .bind(i64::try_from(end)?)
                .bind(i64::try_from(half)?)
                .bind(step)
                .bind(total)
                .bind(now.timestamp())
                .execute(pool)
                .await?;
        });
        progress(end * half, members * half);
        first = end;
    }
    // As a database that grew over years would be: SQLite's WAL written back into the file
    // (not gigabytes of it to look pages up in), PostgreSQL's statistics made by autovacuum.
    match db {
        Db::Sqlite(pool) => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Db::Postgres(pool) => {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
    }
    Ok(CoffeeWorld {
        members,
        connections_each,
        connections: members * half,
    })
}
