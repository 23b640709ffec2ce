//! The members database handle, and the id helpers every aggregate's storage shares.

use rendezvous_common::db::Db;
use uuid::Uuid;

/// An id read back from the database: a UUID, since only parsed ids are ever written.
pub(crate) fn stored_id(id: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::try_parse(id).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub(crate) fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a < b { (a, b) } else { (b, a) }
}

/// The members database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(super) db: Db,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}
