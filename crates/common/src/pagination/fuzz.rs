//! Fuzzing the page-token decoder (issue 10, point 8): whatever a client sends as
//! `page_token`, the decoder answers with a cursor this method issued or a `page_token` field
//! violation, never a panic; and no change to a token — one character replaced, removed or
//! added, another method's or another key's token — passes.
//!
//! The number of cases is `PROPTEST_CASES` (default [`CASES`]); CI runs the default, and
//! `PROPTEST_CASES=100000 cargo test -p rendezvous-common pagination::fuzz` runs longer.

use proptest::prelude::*;

use super::PageTokens;

/// Cases per property when `PROPTEST_CASES` is not set.
const CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: rendezvous_testkit::fuzz_cases(CASES),
        ..ProptestConfig::default()
    }
}

/// A cursor like the services' own: a sort key, a tie-breaking id, a flag.
type Cursor = (String, i64, Option<String>, bool);

fn cursor() -> impl Strategy<Value = Cursor> {
    (
        ".{0,30}",
        any::<i64>(),
        proptest::option::of("[0-9a-f-]{36}"),
        any::<bool>(),
    )
}

/// What a client may send: any text, base64-looking pairs, very long strings.
fn sent() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,64}",
        "[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,60}",
        "[A-Za-z0-9_.=+/-]{2000,2100}",
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Any text is a cursor of this method or a `page_token` violation; empty is the start.
    #[test]
    fn any_text_decodes_or_names_the_field(token in sent()) {
        let tokens = PageTokens::new(b"fuzzing key");
        match tokens.decode::<Cursor>("ListEvents", &token) {
            Ok(None) => prop_assert!(token.is_empty()),
            Ok(Some(cursor)) => {
                // Only what this key signed for this method decodes: re-encoding gives it back.
                prop_assert_eq!(tokens.encode("ListEvents", &cursor), token);
            }
            Err(violation) => prop_assert_eq!(violation.field, "page_token"),
        }
    }

    /// Issued tokens decode to their cursor; one character replaced, removed or added, and
    /// the token is refused; so is the token with another method or another key.
    #[test]
    fn tokens_round_trip_and_any_change_is_refused(
        cursor in cursor(),
        position in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.=-]",
    ) {
        let tokens = PageTokens::new(b"fuzzing key");
        let token = tokens.encode("ListEvents", &cursor);
        prop_assert_eq!(tokens.decode::<Cursor>("ListEvents", &token), Ok(Some(cursor.clone())));

        let chars: Vec<char> = token.chars().collect();
        let at = position.index(chars.len());
        let mut replaced = chars.clone();
        replaced[at] = replacement.chars().next().unwrap_or('A');
        let mut removed = chars.clone();
        removed.remove(at);
        let mut added = chars.clone();
        added.insert(at, replacement.chars().next().unwrap_or('A'));
        for changed in [replaced, removed, added] {
            let changed: String = changed.into_iter().collect();
            if changed != token {
                prop_assert!(
                    tokens.decode::<Cursor>("ListEvents", &changed).is_err(),
                    "{} passed as {}", changed, token
                );
            }
        }
        prop_assert!(tokens.decode::<Cursor>("ListMyEvents", &token).is_err());
        prop_assert!(PageTokens::new(b"another key").decode::<Cursor>("ListEvents", &token).is_err());
    }
}
