//! The members domain: values that need no I/O, the requests parsed into them, and the rules
//! that decide on them.

pub mod booking;
pub mod coffee;
pub mod contacts_csv;
pub mod fields;
pub mod import;
pub mod meeting;
pub mod network;
pub mod pairing;
pub mod password;
pub mod profile;
pub mod remeet;
pub mod slots;

pub use profile::{Locale, ProfileUpdate, Visibility};
