//! Chapter storage on SQLite and PostgreSQL, written once for both (see
//! `rendezvous_common::db::with_db!`).
//!
//! Every write that depends on who organises a chapter (updating it, adding an organiser, an
//! organiser leaving) runs in one transaction that first locks the chapter row (`SELECT … FOR
//! UPDATE` on PostgreSQL; `BEGIN IMMEDIATE` serialises writers on SQLite), so two organisers
//! leaving at once cannot leave a chapter without one.

use chrono::{DateTime, Utc};
use rendezvous_common::db::{BeginWrite as _, Locks};
use rendezvous_common::with_db;
use sqlx::{PgConnection, SqliteConnection};
use uuid::Uuid;

use super::{Store, StoreError, Stored as _, stored_uuid, stored_uuids};
use crate::domain::chapter::{
    ChapterEdit, ChapterRefusal, ChapterRow, MemberRow, NewChapter, Role, city_key,
};

type ChapterTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

/// The columns of a [`ChapterTuple`], over `chapters c`.
macro_rules! chapter_columns {
    () => {
        "c.id, c.name, c.city, c.time_zone, c.description, c.version, c.created_at, c.updated_at, \
         (SELECT COUNT(*) FROM chapter_members m WHERE m.chapter_id = c.id)"
    };
}

fn chapter_row(t: ChapterTuple, organizer_ids: &[String]) -> Result<ChapterRow, sqlx::Error> {
    Ok(ChapterRow {
        id: stored_uuid(&t.0)?,
        name: t.1,
        city: t.2,
        time_zone: t.3,
        description: t.4,
        organizer_ids: stored_uuids(organizer_ids)?,
        member_count: t.8,
        version: t.5,
        created_at: t.6,
        updated_at: t.7,
    })
}

/// Steps shared by the chapter transactions, for both backends' connections.
trait ChapterOps {
    fn load_chapter(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ChapterRow>, sqlx::Error>> + Send;

    /// Locks the chapter row for the rest of the transaction; NotFound when there is none.
    fn lock_chapter(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<(), StoreError<ChapterRefusal>>> + Send;

    /// Locks the chapter row and checks that `caller` organises the chapter.
    fn lock_as_organizer(
        &mut self,
        id: &str,
        caller: &str,
    ) -> impl Future<Output = Result<(), StoreError<ChapterRefusal>>> + Send;

    fn role(
        &mut self,
        chapter_id: &str,
        member_id: &str,
    ) -> impl Future<Output = Result<Option<Role>, sqlx::Error>> + Send;

    /// Marks the chapter changed: a new etag and update time.
    fn touch(
        &mut self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;
}

macro_rules! impl_chapter_ops {
    ($conn:ty) => {
        impl ChapterOps for $conn {
            async fn load_chapter(&mut self, id: &str) -> Result<Option<ChapterRow>, sqlx::Error> {
                let row = sqlx::query_as::<_, ChapterTuple>(concat!(
                    "SELECT ",
                    chapter_columns!(),
                    " FROM chapters c WHERE c.id = $1"
                ))
                .bind(id)
                .fetch_optional(&mut *self)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let organizers: Vec<String> = sqlx::query_scalar(
                    "SELECT member_id FROM chapter_members WHERE chapter_id = $1 \
                     AND role = 'organizer' ORDER BY joined_at, member_id",
                )
                .bind(id)
                .fetch_all(&mut *self)
                .await?;
                chapter_row(row, &organizers).map(Some)
            }

            async fn lock_chapter(&mut self, id: &str) -> Result<(), StoreError<ChapterRefusal>> {
                let sql = format!(
                    "SELECT id FROM chapters WHERE id = $1{}",
                    <$conn as Locks>::BACKEND.for_update()
                );
                let found: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&mut *self)
                    .await?;
                match found {
                    Some(_) => Ok(()),
                    None => Err(ChapterRefusal::NotFound.into()),
                }
            }

            async fn lock_as_organizer(
                &mut self,
                id: &str,
                caller: &str,
            ) -> Result<(), StoreError<ChapterRefusal>> {
                self.lock_chapter(id).await?;
                if self.role(id, caller).await? != Some(Role::Organizer) {
                    return Err(ChapterRefusal::NotOrganizer.into());
                }
                Ok(())
            }

            async fn role(
                &mut self,
                chapter_id: &str,
                member_id: &str,
            ) -> Result<Option<Role>, sqlx::Error> {
                let role: Option<String> = sqlx::query_scalar(
                    "SELECT role FROM chapter_members WHERE chapter_id = $1 AND member_id = $2",
                )
                .bind(chapter_id)
                .bind(member_id)
                .fetch_optional(&mut *self)
                .await?;
                Ok(role.as_deref().map(Role::from_stored))
            }

            async fn touch(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE chapters SET version = version + 1, updated_at = $2 WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *self)
                .await?;
                Ok(())
            }
        }
    };
}

impl_chapter_ops!(SqliteConnection);
impl_chapter_ops!(PgConnection);

impl Store {
    /// Stores a chapter with its creator as first organiser; a repeated `request_id` of the
    /// same creator returns the chapter the first call created.
    pub async fn create_chapter(
        &self,
        new: &NewChapter,
        now: DateTime<Utc>,
    ) -> Result<ChapterRow, sqlx::Error> {
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(request_id) = &new.request_id {
                let existing: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM chapters WHERE created_by = $1 AND request_id = $2",
                )
                .bind(new.created_by.to_string())
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = existing
                    && let Some(chapter) = tx.load_chapter(&id).await?
                {
                    return Ok(chapter);
                }
            }
            sqlx::query(
                "INSERT INTO chapters (id, name, city, city_key, time_zone, description, created_by, \
                 request_id, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)",
            )
            .bind(new.id.to_string())
            .bind(&new.name)
            .bind(&new.city)
            .bind(city_key(&new.city))
            .bind(&new.time_zone)
            .bind(&new.description)
            .bind(new.created_by.to_string())
            .bind(&new.request_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO chapter_members (chapter_id, member_id, role, joined_at) \
                 VALUES ($1, $2, 'organizer', $3)",
            )
            .bind(new.id.to_string())
            .bind(new.created_by.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let chapter = tx
                .load_chapter(&new.id.to_string())
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(chapter)
        })
    }

    /// The chapter a creator made with `request_id`, if any (a retry that lost a race).
    pub async fn chapter_by_request(
        &self,
        created_by: Uuid,
        request_id: &str,
    ) -> Result<Option<ChapterRow>, sqlx::Error> {
        let created_by = created_by.to_string();
        let created_by = created_by.as_str();
        with_db!(self.db(), |pool| {
            let mut conn = pool.acquire().await?;
            let id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM chapters WHERE created_by = $1 AND request_id = $2",
            )
            .bind(created_by)
            .bind(request_id)
            .fetch_optional(&mut *conn)
            .await?;
            match id {
                Some(id) => conn.load_chapter(&id).await,
                None => Ok(None),
            }
        })
    }

    pub async fn chapter(&self, id: Uuid) -> Result<Option<ChapterRow>, sqlx::Error> {
        let id = id.to_string();
        let id = id.as_str();
        with_db!(self.db(), |pool| {
            let mut conn = pool.acquire().await?;
            conn.load_chapter(id).await
        })
    }

    /// Chapters ordered by id after `after`, in the city whose lower-cased name is `city_key`
    /// when given; at most `limit`.
    pub async fn list_chapters(
        &self,
        city_key: Option<&str>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ChapterRow>, sqlx::Error> {
        let city_key = city_key.unwrap_or("");
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let after = after.as_str();
        with_db!(self.db(), |pool| {
            // One snapshot for the page and its organisers.
            let mut tx = pool.begin().await?;
            let rows = sqlx::query_as::<_, ChapterTuple>(concat!(
                "SELECT ",
                chapter_columns!(),
                " FROM chapters c WHERE ($1 = '' OR c.city_key = $1) AND c.id > $2 \
                 ORDER BY c.id LIMIT $3"
            ))
            .bind(city_key)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            let organizers: Vec<(String, String)> = sqlx::query_as(
                "SELECT m.chapter_id, m.member_id FROM chapter_members m \
                 WHERE m.role = 'organizer' AND m.chapter_id IN (\
                 SELECT c.id FROM chapters c WHERE ($1 = '' OR c.city_key = $1) AND c.id > $2 \
                 ORDER BY c.id LIMIT $3) \
                 ORDER BY m.joined_at, m.member_id",
            )
            .bind(city_key)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            rows.into_iter()
                .map(|row| {
                    let ids: Vec<String> = organizers
                        .iter()
                        .filter(|(chapter, _)| *chapter == row.0)
                        .map(|(_, member)| member.clone())
                        .collect();
                    chapter_row(row, &ids)
                })
                .collect()
        })
    }

    /// Applies an organiser's edit, checking the etag when one is given.
    pub async fn update_chapter(
        &self,
        id: Uuid,
        caller: Uuid,
        edit: &ChapterEdit,
        now: DateTime<Utc>,
    ) -> Result<ChapterRow, StoreError<ChapterRefusal>> {
        let id = id.to_string();
        let id = id.as_str();
        let caller = caller.to_string();
        let caller = caller.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            tx.lock_as_organizer(id, caller).await?;
            let current = tx.load_chapter(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            if edit
                .etag
                .as_ref()
                .is_some_and(|etag| *etag != current.version.to_string())
            {
                return Err(ChapterRefusal::EtagMismatch.into());
            }
            let city = edit.city.as_ref().unwrap_or(&current.city);
            sqlx::query(
                "UPDATE chapters SET name = $2, city = $3, city_key = $4, time_zone = $5, \
                 description = $6, version = version + 1, updated_at = $7 WHERE id = $1",
            )
            .bind(id)
            .bind(edit.name.as_ref().unwrap_or(&current.name))
            .bind(city)
            .bind(city_key(city))
            .bind(edit.time_zone.as_ref().unwrap_or(&current.time_zone))
            .bind(edit.description.as_ref().unwrap_or(&current.description))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let updated = tx.load_chapter(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(updated)
        })
    }

    /// Makes `member` a member of the chapter; already being one changes nothing.
    pub async fn join_chapter(
        &self,
        id: Uuid,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ChapterRow, StoreError<ChapterRefusal>> {
        let id = id.to_string();
        let id = id.as_str();
        let member = member.to_string();
        let member = member.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            tx.lock_chapter(id).await?;
            sqlx::query(
                "INSERT INTO chapter_members (chapter_id, member_id, role, joined_at) \
                 VALUES ($1, $2, 'member', $3) ON CONFLICT (chapter_id, member_id) DO NOTHING",
            )
            .bind(id)
            .bind(member)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let chapter = tx.load_chapter(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(chapter)
        })
    }

    /// Removes `member` from the chapter; not being one changes nothing. The last organiser is
    /// refused.
    pub async fn leave_chapter(
        &self,
        id: Uuid,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError<ChapterRefusal>> {
        let id = id.to_string();
        let id = id.as_str();
        let member = member.to_string();
        let member = member.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            tx.lock_chapter(id).await?;
            match tx.role(id, member).await? {
                None => return Ok(()),
                Some(Role::Member) => {}
                Some(Role::Organizer) => {
                    let organizers: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM chapter_members WHERE chapter_id = $1 AND role = 'organizer'",
                    )
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    if organizers <= 1 {
                        return Err(ChapterRefusal::LastOrganizer.into());
                    }
                    tx.touch(id, now).await?;
                }
            }
            sqlx::query("DELETE FROM chapter_members WHERE chapter_id = $1 AND member_id = $2")
                .bind(id)
                .bind(member)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Makes `member` an organiser (joining them if needed), on an organiser's authority.
    pub async fn add_organizer(
        &self,
        id: Uuid,
        caller: Uuid,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<ChapterRow, StoreError<ChapterRefusal>> {
        let id = id.to_string();
        let id = id.as_str();
        let caller = caller.to_string();
        let caller = caller.as_str();
        let member = member.to_string();
        let member = member.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin_write().await?;
            tx.lock_as_organizer(id, caller).await?;
            let changed = sqlx::query(
                "INSERT INTO chapter_members (chapter_id, member_id, role, joined_at) \
                 VALUES ($1, $2, 'organizer', $3) ON CONFLICT (chapter_id, member_id) \
                 DO UPDATE SET role = 'organizer' WHERE chapter_members.role <> 'organizer'",
            )
            .bind(id)
            .bind(member)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                tx.touch(id, now).await?;
            }
            let chapter = tx.load_chapter(id).await?.ok_or(sqlx::Error::RowNotFound)?;
            tx.commit().await?;
            Ok(chapter)
        })
    }

    /// The chapter's members in joining order after `after` (`(joined_at, member_id)`), at most
    /// `limit`; only for a member of the chapter.
    pub async fn list_chapter_members(
        &self,
        id: Uuid,
        caller: Uuid,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<MemberRow>, StoreError<ChapterRefusal>> {
        let id = id.to_string();
        let id = id.as_str();
        let caller = caller.to_string();
        let caller = caller.as_str();
        with_db!(self.db(), |pool| {
            let mut tx = pool.begin().await?;
            let exists: Option<String> =
                sqlx::query_scalar("SELECT id FROM chapters WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_none() {
                return Err(ChapterRefusal::NotFound.into());
            }
            if tx.role(id, caller).await?.is_none() {
                return Err(ChapterRefusal::NotMember.into());
            }
            let rows: Vec<(String, String, DateTime<Utc>)> = match &after {
                None => {
                    sqlx::query_as(
                        "SELECT member_id, role, joined_at FROM chapter_members WHERE chapter_id = $1 \
                         ORDER BY joined_at, member_id LIMIT $2",
                    )
                    .bind(id)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?
                }
                Some((joined_at, member_id)) => {
                    sqlx::query_as(
                        "SELECT member_id, role, joined_at FROM chapter_members WHERE chapter_id = $1 \
                         AND (joined_at, member_id) > ($2, $3) ORDER BY joined_at, member_id LIMIT $4",
                    )
                    .bind(id)
                    .bind(*joined_at)
                    .bind(member_id.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?
                }
            };
            tx.commit().await?;
            Ok(rows
                .into_iter()
                .map(|(member_id, role, joined_at)| {
                    Ok(MemberRow {
                        member_id: stored_uuid(&member_id)?,
                        role: Role::from_stored(&role),
                        joined_at,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()?)
        })
    }
    pub async fn is_chapter_member(
        &self,
        chapter: Uuid,
        member: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let chapter = chapter.to_string();
        let chapter = chapter.as_str();
        let member = member.to_string();
        let member = member.as_str();
        with_db!(self.db(), |pool| {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM chapter_members WHERE chapter_id = $1 AND member_id = $2",
            )
            .bind(chapter)
            .bind(member)
            .fetch_one(pool)
            .await?;
            Ok(n > 0)
        })
    }

    pub async fn chapter_member_ids(&self, chapter: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
        let chapter = chapter.to_string();
        let chapter = chapter.as_str();
        let ids: Vec<String> = with_db!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT member_id FROM chapter_members WHERE chapter_id = $1 ORDER BY member_id",
            )
            .bind(chapter)
            .fetch_all(pool)
            .await
        })?;
        stored_uuids(&ids)
    }
}
