//! No code: this crate holds the whole-stack tests in `tests/stack`, which start members,
//! events and notifications together and so live apart from each service's own tests.
