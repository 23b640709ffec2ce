//! Fuzzing the LinkedIn `Connections.csv` parser (issue 10, point 8).
//!
//! Two generators: arbitrary bytes (the parser must answer with contacts or an error, never
//! panic, and what it answers must be well-formed), and exports written the way a
//! spreadsheet or LinkedIn writes them — an optional BOM and `Notes:` preamble, the columns in
//! any order with extra ones, CRLF or LF, blank lines, quoted fields holding commas, quotes
//! and line breaks, names in any script — which must parse back to exactly the rows written,
//! each with the line it starts on.
//!
//! The number of cases is `PROPTEST_CASES` (default [`CASES`]); CI runs the default, and
//! `PROPTEST_CASES=100000 cargo test -p rendezvous-members contacts_csv::fuzz` runs longer.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{Contact, CsvError, normalize_email, normalize_profile_url, parse_connections_csv};

/// Cases per property when `PROPTEST_CASES` is not set.
const CASES: u32 = 1_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: rendezvous_testkit::fuzz_cases(CASES),
        ..ProptestConfig::default()
    }
}

/// One data row as written: the raw text of each column the parser reads.
#[derive(Debug, Clone)]
struct Row {
    first: String,
    last: String,
    url: String,
    email: String,
    company: String,
}

/// Text a cell may hold: letters of several scripts, spaces, tabs, commas, quotes, line
/// breaks, `@` and URL punctuation.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Za-zÀ-ÿ \u{4e00}-\u{4e10}'-]{0,12}",
        1 => "[ a-z,\"\n\t@./:?#]{0,12}",
        1 => Just(String::new()),
        1 => Just("   ".to_owned()),
    ]
}

fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (" ?", "[A-Za-z0-9._+-]{1,8}", "[A-Za-z0-9-]{1,8}", " ?")
            .prop_map(|(pad, local, domain, end)| format!("{pad}{local}@{domain}.com{end}")),
        1 => cell(),
    ]
}

fn profile_url() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (
            prop_oneof![Just(""), Just("https://"), Just("http://"), Just("HTTPS://")],
            prop_oneof![Just(""), Just("www."), Just("WWW.")],
            "[A-Za-z0-9-]{1,12}",
            prop_oneof![Just(""), Just("/"), Just("?trk=x"), Just("/#about")],
        )
            .prop_map(|(scheme, www, slug, tail)| {
                format!("{scheme}{www}linkedin.com/in/{slug}{tail}")
            }),
        1 => cell(),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    (cell(), cell(), profile_url(), email(), cell()).prop_map(
        |(first, last, url, email, company)| Row {
            first,
            last,
            url,
            email,
            company,
        },
    )
}

/// A field as a CSV writer writes it: quoted when it must be, quotes doubled.
fn field(text: &str, always_quote: bool) -> String {
    if always_quote || text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// What the parser must give for `row` starting on `line`, or `None` when the row is blank
/// (every field empty or ASCII white space) and so skipped.
fn expected(row: &Row, line: u64) -> Option<Contact> {
    let fields = [&row.first, &row.last, &row.url, &row.email, &row.company];
    if fields.iter().all(|f| f.trim_ascii().is_empty()) {
        return None;
    }
    Some(Contact {
        first_name: row.first.trim().to_owned(),
        last_name: row.last.trim().to_owned(),
        profile_url: normalize_profile_url(&row.url),
        email: normalize_email(&row.email),
        line,
    })
}

/// The columns in file order: indices into a row's fields, the parser's four plus `Company`
/// and an unknown column.
fn column_order() -> impl Strategy<Value = Vec<usize>> {
    Just((0..6).collect::<Vec<usize>>()).prop_shuffle()
}

const NAMES: [&str; 6] = [
    "First Name",
    " last name ",
    "URL",
    "Email Address",
    "Company",
    "Notes On Them",
];

fn cells(row: &Row) -> [&str; 6] {
    [
        &row.first,
        &row.last,
        &row.url,
        &row.email,
        &row.company,
        "",
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the bytes, contacts or an error; contacts are well-formed.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_well_formed(&bytes)?;
    }

    /// Arbitrary text after a real header: rows of any width, stray quotes, CR alone.
    #[test]
    fn arbitrary_rows_after_a_header_never_panic(body in "[a-z,\"\r\n @.\u{e9}]{0,300}") {
        let text = format!("First Name,Last Name,URL,Email Address\n{body}");
        check_well_formed(text.as_bytes())?;
    }

    /// An export written by a CSV writer parses back to the rows written, on their lines.
    #[test]
    fn written_exports_parse_back_to_their_rows(
        rows in proptest::collection::vec(row(), 0..12),
        order in column_order(),
        bom in any::<bool>(),
        notes in any::<bool>(),
        crlf in any::<bool>(),
        blank_lines in proptest::collection::vec(0usize..3, 12),
        quote_all in any::<bool>(),
    ) {
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        if bom {
            text.push('\u{feff}');
        }
        if notes {
            text.push_str("Notes:");
            text.push_str(newline);
            text.push_str("\"When exporting your connection data, some email addresses are missing,\nsee https://www.linkedin.com/help.\"");
            text.push_str(newline);
            text.push_str(newline);
        }
        let header: Vec<String> = order.iter().map(|&i| field(NAMES[i], quote_all)).collect();
        text.push_str(&header.join(","));
        text.push_str(newline);

        let mut wanted = Vec::new();
        for (row, blanks) in rows.iter().zip(&blank_lines) {
            for _ in 0..*blanks {
                text.push_str(newline);
            }
            // The BOM is stripped before lines are counted, and it holds no line feed.
            let line = text.matches('\n').count() as u64 + 1;
            let cells = cells(row);
            let written: Vec<String> = order.iter().map(|&i| field(cells[i], quote_all)).collect();
            text.push_str(&written.join(","));
            text.push_str(newline);
            wanted.extend(expected(row, line));
        }

        let parsed = parse_connections_csv(text.as_bytes());
        prop_assert_eq!(parsed, Ok(wanted), "file: {:?}", text);
    }

    /// Emails normalise to one lower-case form with a single `@`, whatever the spacing and
    /// case, and normalising twice changes nothing.
    #[test]
    fn emails_normalise_once_and_for_all(raw in email()) {
        if let Some(email) = normalize_email(&raw) {
            prop_assert_eq!(email.matches('@').count(), 1);
            prop_assert_eq!(&email, &email.to_lowercase());
            prop_assert_eq!(normalize_email(&email), Some(email.clone()));
            prop_assert_eq!(normalize_email(&format!("  {}  ", raw.to_uppercase())), normalize_email(&raw.to_uppercase()));
        }
    }

    /// One profile, however its URL is written, normalises to one form.
    #[test]
    fn profile_urls_of_one_profile_normalise_alike(slug in "[A-Za-z0-9-]{1,20}") {
        let canonical = normalize_profile_url(&format!("linkedin.com/in/{slug}"));
        prop_assert_eq!(canonical.clone(), Some(format!("linkedin.com/in/{}", slug.to_lowercase())));
        for written in [
            format!("https://www.linkedin.com/in/{slug}/"),
            format!("HTTP://LinkedIn.com/in/{}?trk=people", slug.to_uppercase()),
            format!("  //www.linkedin.com/in/{slug}#top  "),
        ] {
            prop_assert_eq!(normalize_profile_url(&written), canonical.clone(), "{}", written);
        }
    }
}

/// The parser answered without panicking; its contacts are well-formed: trimmed names,
/// normalised details, lines that only grow; its errors name a line within the file.
fn check_well_formed(bytes: &[u8]) -> Result<(), TestCaseError> {
    // Line feeds, and carriage returns no line feed follows (lines as editors show them).
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    let lines = breaks as u64 + 1;
    match parse_connections_csv(bytes) {
        Ok(contacts) => {
            for contact in &contacts {
                prop_assert_eq!(contact.first_name.trim(), contact.first_name.as_str());
                prop_assert_eq!(contact.last_name.trim(), contact.last_name.as_str());
                if let Some(email) = &contact.email {
                    prop_assert_eq!(normalize_email(email), Some(email.clone()));
                }
                if let Some(url) = &contact.profile_url {
                    prop_assert!(!url.is_empty() && !url.chars().any(char::is_control));
                }
                prop_assert!((1..=lines).contains(&contact.line));
            }
            prop_assert!(contacts.windows(2).all(|w| w[0].line < w[1].line));
        }
        Err(CsvError::Malformed { line, message }) => {
            prop_assert!((1..=lines).contains(&line), "line {} of {}", line, lines);
            prop_assert!(!message.is_empty());
        }
        Err(CsvError::MissingHeader | CsvError::TooManyRows { .. }) => {}
    }
    Ok(())
}
