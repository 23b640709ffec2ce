//! The members domain: values that need no I/O, and the rules that decide on them.

pub mod contacts_csv;
pub mod password;
pub mod profile;

pub use profile::{Locale, ProfileUpdate, Visibility};
