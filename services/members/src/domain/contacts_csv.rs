//! Parses LinkedIn's `Connections.csv` export into contacts that can be matched against members.
//!
//! The export looks like this (the BOM and the `Notes:` preamble are optional):
//!
//! ```text
//! <BOM>Notes:
//! "When exporting your connection data, you may notice that some of the email addresses are missing. ..."
//!
//! First Name,Last Name,URL,Email Address,Company,Position,Connected On
//! Anna,Dupont,https://www.linkedin.com/in/anna-dupont,,"Acme, Inc.",CTO,12 Jan 2024
//! ```
//!
//! Everything before the header row is ignored. The header is the first record that has both a
//! `URL` and an `Email Address` column (names are trimmed and compared case-insensitively);
//! `First Name` and `Last Name` are picked up when present, and any other column (`Company`,
//! `Position`, `Connected On`, or columns LinkedIn may add later) is ignored, in any order.
//!
//! Line numbers in errors and in [`Contact::line`] are 1-based lines of the file as a text
//! editor shows them, counting the preamble and blank lines. They come from the `csv` crate's
//! [`csv::Position::line`], corrected for the blank lines the reader skips before a record
//! (the `csv` crate reports the line where it *started* reading, before those blank lines).

use std::str;

/// One row of the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Trimmed; empty when the column is missing or blank.
    pub first_name: String,
    /// Trimmed; empty when the column is missing or blank.
    pub last_name: String,
    /// Normalised with [`normalize_profile_url`].
    pub profile_url: Option<String>,
    /// Normalised (trimmed, lower-case) with [`normalize_email`].
    pub email: Option<String>,
    /// 1-based line of the file where the row starts.
    pub line: u64,
}

/// Why a file could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CsvError {
    #[error("line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("no LinkedIn header row (First Name, Last Name, URL, Email Address, …) was found")]
    MissingHeader,
    #[error("the file has more than {max} rows")]
    TooManyRows { max: usize },
}

/// The largest number of data rows accepted in one file.
pub const MAX_ROWS: usize = 100_000;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses the bytes of a LinkedIn `Connections.csv` export.
///
/// Empty rows (no field, or only blank fields) are skipped. Rows with neither a URL nor an
/// email are kept, with both set to `None`.
///
/// # Errors
///
/// * [`CsvError::Malformed`] naming the line, for invalid UTF-8 anywhere in the file or for a
///   data row whose number of fields differs from the header's;
/// * [`CsvError::MissingHeader`] when no header row is found;
/// * [`CsvError::TooManyRows`] when there are more than [`MAX_ROWS`] data rows.
pub fn parse_connections_csv(bytes: &[u8]) -> Result<Vec<Contact>, CsvError> {
    parse_with_limit(bytes, MAX_ROWS)
}

/// Column indices found in the header row.
struct Columns {
    width: usize,
    first_name: Option<usize>,
    last_name: Option<usize>,
    url: usize,
    email: usize,
}

impl Columns {
    /// Returns the columns if `record` is the header row.
    fn from_header(record: &csv::ByteRecord) -> Option<Self> {
        let find = |name: &str| {
            record
                .iter()
                .position(|field| field.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
        };
        Some(Columns {
            width: record.len(),
            url: find("url")?,
            email: find("email address")?,
            first_name: find("first name"),
            last_name: find("last name"),
        })
    }
}

/// Like [`parse_connections_csv`], with at most `max_rows` data rows.
pub fn parse_with_limit(bytes: &[u8], max_rows: usize) -> Result<Vec<Contact>, CsvError> {
    let input = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let input = lone_carriage_returns_as_line_feeds(input);
    let input: &[u8] = &input;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut columns: Option<Columns> = None;
    let mut contacts = Vec::new();

    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                // Reading from a byte slice cannot fail with I/O, and `flexible` and byte records
                // rule out the other errors; map anything unexpected to a line all the same.
                let line = err
                    .position()
                    .map_or_else(|| reader.position().line(), csv::Position::line);
                return Err(CsvError::Malformed {
                    line,
                    message: err.to_string(),
                });
            }
        }
        let line = record_line(input, &record, reader.position());
        check_utf8(&record, line)?;

        let Some(cols) = &columns else {
            columns = Columns::from_header(&record);
            continue;
        };
        if record.iter().all(|field| field.trim_ascii().is_empty()) {
            continue;
        }
        if record.len() != cols.width {
            return Err(CsvError::Malformed {
                line,
                message: format!(
                    "expected {} fields like the header, found {}",
                    cols.width,
                    record.len()
                ),
            });
        }
        if contacts.len() == max_rows {
            return Err(CsvError::TooManyRows { max: max_rows });
        }
        contacts.push(Contact {
            first_name: text(&record, cols.first_name).to_owned(),
            last_name: text(&record, cols.last_name).to_owned(),
            profile_url: normalize_profile_url(text(&record, Some(cols.url))),
            email: normalize_email(text(&record, Some(cols.email))),
            line,
        });
    }

    if columns.is_none() {
        return Err(CsvError::MissingHeader);
    }
    Ok(contacts)
}

/// `input` with each carriage return that no line feed follows (classic Mac OS line ends)
/// made a line feed. The `csv` crate ends a record at a lone CR but counts lines by line feeds
/// only, so two records would share a line number; editors show a lone CR as a line break.
fn lone_carriage_returns_as_line_feeds(input: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let lone = |i: usize| input[i] == b'\r' && input.get(i + 1) != Some(&b'\n');
    if !(0..input.len()).any(lone) {
        return std::borrow::Cow::Borrowed(input);
    }
    let normalised = (0..input.len())
        .map(|i| if lone(i) { b'\n' } else { input[i] })
        .collect();
    std::borrow::Cow::Owned(normalised)
}

/// The 1-based line where `record` starts.
///
/// The `csv` crate records a record's position *before* it skips the blank lines that precede
/// it, so the line it reports is too small by the number of those blank lines: count the line
/// feeds between that byte offset and the first byte of the record.
fn record_line(input: &[u8], record: &csv::ByteRecord, fallback: &csv::Position) -> u64 {
    let pos = record.position().unwrap_or(fallback);
    let start = usize::try_from(pos.byte()).map_or(input.len(), |b| b.min(input.len()));
    let skipped = input[start..]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    pos.line() + skipped as u64
}

/// Fails with the exact line of the first invalid UTF-8 sequence in `record`.
fn check_utf8(record: &csv::ByteRecord, line: u64) -> Result<(), CsvError> {
    for (i, field) in record.iter().enumerate() {
        if let Err(err) = str::from_utf8(field) {
            // Fields are stored back to back and keep their embedded newlines, so the line
            // feeds before the bad byte tell how far into a multi-line record it sits.
            let start = record.range(i).map_or(0, |r| r.start);
            let before = &record.as_slice()[..start + err.valid_up_to()];
            let offset = before.iter().filter(|&&b| b == b'\n').count() as u64;
            return Err(CsvError::Malformed {
                line: line + offset,
                message: format!("invalid UTF-8 in field {}", i + 1),
            });
        }
    }
    Ok(())
}

/// The trimmed text of column `index`, or "" when there is no such column.
///
/// The record has been checked for UTF-8 already.
fn text(record: &csv::ByteRecord, index: Option<usize>) -> &str {
    index
        .and_then(|i| record.get(i))
        .and_then(|field| str::from_utf8(field).ok())
        .map_or("", str::trim)
}

/// Normalises a LinkedIn profile URL for matching: case-insensitive, scheme, `www.` and trailing slash, query and fragment ignored. `https://www.LinkedIn.com/in/Anna-Dupont/` and `linkedin.com/in/anna-dupont` normalise alike (e.g. to `linkedin.com/in/anna-dupont`). Returns None for an empty/blank string; percent-encoded slugs are left as they are, lower-cased.
#[must_use]
pub fn normalize_profile_url(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    // No URL has control characters, and PostgreSQL refuses NUL in text: match nothing.
    if s.chars().any(char::is_control) {
        return None;
    }
    if let Some(end) = s.find(['?', '#']) {
        s = &s[..end];
    }
    if let Some(idx) = s.find("://") {
        let scheme = &s[..idx];
        if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            s = &s[idx + 3..];
        }
    } else if let Some(rest) = s.strip_prefix("//") {
        s = rest;
    }
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www.")) {
        s = &s[4..];
    }
    let s = s.trim_end_matches('/').trim();
    if s.is_empty() {
        None
    } else {
        Some(s.to_lowercase())
    }
}

/// Trims and lower-cases an email; None when empty, without a single '@' with text on both
/// sides, or with control characters.
#[must_use]
pub fn normalize_email(raw: &str) -> Option<String> {
    let s = raw.trim();
    let (local, domain) = s.split_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || domain.contains('@')
        || s.chars().any(char::is_control)
    {
        return None;
    }
    Some(s.to_lowercase())
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n";

    const NOTES: &str = "Notes:\n\"When exporting your connection data, you may notice that some of the email addresses are missing. You will only see email addresses for connections who have allowed their connections to see or download their email address using this setting https://www.linkedin.com/psettings/privacy/email. You can learn more about this at https://www.linkedin.com/help/linkedin/answer/261\"\n\n";

    fn parse(text: &str) -> Result<Vec<Contact>, CsvError> {
        parse_connections_csv(text.as_bytes())
    }

    fn contact(
        first: &str,
        last: &str,
        url: Option<&str>,
        email: Option<&str>,
        line: u64,
    ) -> Contact {
        Contact {
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            profile_url: url.map(str::to_owned),
            email: email.map(str::to_owned),
            line,
        }
    }

    fn malformed_line(result: Result<Vec<Contact>, CsvError>) -> u64 {
        match result {
            Err(CsvError::Malformed { line, .. }) => line,
            other => panic!("expected a Malformed error, got {other:?}"),
        }
    }

    #[test]
    fn plain_file_without_preamble() -> Result<(), CsvError> {
        let text = format!(
            "{HEADER}Anna,Dupont,https://www.linkedin.com/in/anna-dupont,,Acme,CTO,12 Jan 2024\n\
             Bob,Martin,https://www.linkedin.com/in/bob-martin-123,Bob@Example.COM,Globex,Dev,3 Feb 2023\n"
        );
        assert_eq!(
            parse(&text)?,
            vec![
                contact(
                    "Anna",
                    "Dupont",
                    Some("linkedin.com/in/anna-dupont"),
                    None,
                    2
                ),
                contact(
                    "Bob",
                    "Martin",
                    Some("linkedin.com/in/bob-martin-123"),
                    Some("bob@example.com"),
                    3
                ),
            ]
        );
        Ok(())
    }

    #[test]
    fn bom_notes_preamble_and_blank_line() -> Result<(), CsvError> {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice(NOTES.as_bytes());
        bytes.extend_from_slice(HEADER.as_bytes());
        bytes.extend_from_slice(
            b"Anna,Dupont,https://www.linkedin.com/in/anna-dupont,,Acme,CTO,12 Jan 2024\n",
        );
        let contacts = parse_connections_csv(&bytes)?;
        // 1 `Notes:`, 2 the quoted note, 3 blank, 4 header, 5 Anna.
        assert_eq!(
            contacts,
            vec![contact(
                "Anna",
                "Dupont",
                Some("linkedin.com/in/anna-dupont"),
                None,
                5
            )]
        );
        Ok(())
    }

    #[test]
    fn preamble_note_spanning_several_lines() -> Result<(), CsvError> {
        let text = format!(
            "\u{feff}Notes:\n\"When exporting your connection data,\nyou may notice that \"\"some\"\" emails\nare missing.\"\n\n{HEADER}\
             Anna,Dupont,https://www.linkedin.com/in/anna-dupont,,Acme,CTO,12 Jan 2024\n"
        );
        // 1 Notes:, 2-4 note, 5 blank, 6 header, 7 Anna.
        assert_eq!(parse(&text)?[0].line, 7);
        Ok(())
    }

    #[test]
    fn bom_directly_before_header() -> Result<(), CsvError> {
        let text = format!("\u{feff}{HEADER}Anna,Dupont,linkedin.com/in/anna,,,,\n");
        let contacts = parse(&text)?;
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0].line, 2);
        Ok(())
    }

    #[test]
    fn lone_carriage_returns_end_lines() -> Result<(), CsvError> {
        let text = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\
                    Ann,Lee,https://www.linkedin.com/in/ann,,Acme,CTO,01 Jan 2024\r\r\
                    Bob,Ray,https://www.linkedin.com/in/bob,,Acme,CEO,02 Jan 2024\r";
        let lines: Vec<u64> = parse(text)?.iter().map(|c| c.line).collect();
        assert_eq!(lines, vec![2, 4]);
        Ok(())
    }

    #[test]
    fn crlf_line_endings() -> Result<(), CsvError> {
        let text = "Notes:\r\n\"Some note\r\nover two lines\"\r\n\r\nFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n\
                    Anna,Dupont,https://www.linkedin.com/in/anna-dupont,,Acme,CTO,12 Jan 2024\r\n\
                    Bob,Martin,https://www.linkedin.com/in/bob,,Globex,Dev,3 Feb 2023\r\n";
        let contacts = parse(text)?;
        assert_eq!(
            contacts,
            vec![
                contact(
                    "Anna",
                    "Dupont",
                    Some("linkedin.com/in/anna-dupont"),
                    None,
                    6
                ),
                contact("Bob", "Martin", Some("linkedin.com/in/bob"), None, 7),
            ]
        );
        Ok(())
    }

    #[test]
    fn quoted_fields_with_commas_quotes_and_newlines() -> Result<(), CsvError> {
        let text = format!(
            "{HEADER}\
             \"Dupont, Anna\",\"O\"\"Neil\",https://www.linkedin.com/in/anna,,\"Acme, Inc.\",\"Head of \"\"Stuff\"\"\",12 Jan 2024\n\
             Bob,Martin,https://www.linkedin.com/in/bob,,\"Globex\nCorporation\nEurope\",\"Dev,\nOps\",3 Feb 2023\n\
             Carla,Rossi,https://www.linkedin.com/in/carla,,Initech,PM,4 Mar 2022\n"
        );
        let contacts = parse(&text)?;
        assert_eq!(
            contacts,
            vec![
                contact(
                    "Dupont, Anna",
                    "O\"Neil",
                    Some("linkedin.com/in/anna"),
                    None,
                    2
                ),
                contact("Bob", "Martin", Some("linkedin.com/in/bob"), None, 3),
                // Bob's row spans lines 3 to 6 (two newlines in the company, one in the position).
                contact("Carla", "Rossi", Some("linkedin.com/in/carla"), None, 7),
            ]
        );
        Ok(())
    }

    #[test]
    fn name_with_embedded_newline_is_kept() -> Result<(), CsvError> {
        let text = format!("{HEADER}\"Anna\nMaria\",Dupont,linkedin.com/in/anna,,,,\nBob,M,,,,,\n");
        let contacts = parse(&text)?;
        assert_eq!(contacts[0].first_name, "Anna\nMaria");
        assert_eq!(contacts[1].line, 4);
        Ok(())
    }

    #[test]
    fn line_numbers_count_blank_lines() -> Result<(), CsvError> {
        let text = format!(
            "\n\n{HEADER}\nAnna,Dupont,linkedin.com/in/anna,,,,\n\n\n\"Bob\",\"Mar\ntin\",linkedin.com/in/bob,,,,\n\nCarla,Rossi,,,,,\n"
        );
        let lines: Vec<u64> = parse(&text)?.iter().map(|c| c.line).collect();
        // 1-2 blank, 3 header, 4 blank, 5 Anna, 6-7 blank, 8-9 Bob, 10 blank, 11 Carla.
        assert_eq!(lines, vec![5, 8, 11]);
        Ok(())
    }

    #[test]
    fn empty_emails_and_rows_without_url_or_email_are_kept() -> Result<(), CsvError> {
        let text = format!(
            "{HEADER}\
             Anna,Dupont,https://www.linkedin.com/in/anna,,Acme,CTO,12 Jan 2024\n\
             Bob,Martin,,   ,Globex,Dev,3 Feb 2023\n\
             Carla,Rossi,,carla@example.com,,,\n\
             Dan,Lee,https://www.linkedin.com/in/dan,not-an-email,,,\n"
        );
        assert_eq!(
            parse(&text)?,
            vec![
                contact("Anna", "Dupont", Some("linkedin.com/in/anna"), None, 2),
                contact("Bob", "Martin", None, None, 3),
                contact("Carla", "Rossi", None, Some("carla@example.com"), 4),
                contact("Dan", "Lee", Some("linkedin.com/in/dan"), None, 5),
            ]
        );
        Ok(())
    }

    #[test]
    fn empty_rows_are_skipped() -> Result<(), CsvError> {
        let text = format!("{HEADER},,,,,,\nAnna,Dupont,linkedin.com/in/anna,,,,\n   \n , ,\n");
        let contacts = parse(&text)?;
        assert_eq!(contacts.len(), 1);
        assert_eq!(contacts[0].line, 3);
        Ok(())
    }

    #[test]
    fn fields_are_trimmed() -> Result<(), CsvError> {
        let text = format!(
            "{HEADER}  Anna , Dupont ,  https://www.linkedin.com/in/anna/  , Anna@X.io ,,,\n"
        );
        assert_eq!(
            parse(&text)?,
            vec![contact(
                "Anna",
                "Dupont",
                Some("linkedin.com/in/anna"),
                Some("anna@x.io"),
                2
            )]
        );
        Ok(())
    }

    #[test]
    fn header_only_gives_no_contacts() -> Result<(), CsvError> {
        assert_eq!(parse(HEADER)?, vec![]);
        assert_eq!(parse(&format!("{NOTES}{HEADER}"))?, vec![]);
        Ok(())
    }

    #[test]
    fn unicode_names() -> Result<(), CsvError> {
        let text = format!(
            "{HEADER}Zoë,Łukasiewicz,https://www.linkedin.com/in/zo%C3%AB-%C5%82,,Café ☕,,\n"
        );
        assert_eq!(
            parse(&text)?,
            vec![contact(
                "Zoë",
                "Łukasiewicz",
                Some("linkedin.com/in/zo%c3%ab-%c5%82"),
                None,
                2
            )]
        );
        Ok(())
    }

    #[test]
    fn url_normalisation_variants() {
        let expected = Some("linkedin.com/in/anna-dupont".to_owned());
        for raw in [
            "https://www.linkedin.com/in/anna-dupont",
            "http://www.linkedin.com/in/anna-dupont",
            "https://linkedin.com/in/anna-dupont",
            "http://linkedin.com/in/anna-dupont/",
            "www.linkedin.com/in/anna-dupont",
            "linkedin.com/in/anna-dupont",
            "linkedin.com/in/anna-dupont//",
            "https://www.LinkedIn.com/in/Anna-Dupont/",
            "HTTPS://WWW.LINKEDIN.COM/IN/ANNA-DUPONT",
            "https://www.linkedin.com/in/anna-dupont?trk=people-guest",
            "https://www.linkedin.com/in/anna-dupont/?utm_source=share&utm_medium=x",
            "https://www.linkedin.com/in/anna-dupont#experience",
            "https://www.linkedin.com/in/anna-dupont/?a=1#b",
            "//www.linkedin.com/in/anna-dupont",
            "  https://www.linkedin.com/in/anna-dupont/  ",
        ] {
            assert_eq!(normalize_profile_url(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn url_normalisation_edge_cases() {
        for raw in [
            "",
            "   ",
            "\t\n",
            "https://",
            "https://www./",
            "/",
            "?q=1",
            "#frag",
        ] {
            assert_eq!(normalize_profile_url(raw), None, "{raw:?}");
        }
        // Percent-encoding is kept, only lower-cased.
        assert_eq!(
            normalize_profile_url("https://www.linkedin.com/in/J%C3%A9r%C3%B4me-M/").as_deref(),
            Some("linkedin.com/in/j%c3%a9r%c3%b4me-m")
        );
        // Non-ASCII slugs are lower-cased too.
        assert_eq!(
            normalize_profile_url("https://www.linkedin.com/in/JÉRÔME").as_deref(),
            Some("linkedin.com/in/jérôme")
        );
        // Other hosts and paths are kept, only normalised.
        assert_eq!(
            normalize_profile_url("https://fr.linkedin.com/in/anna/").as_deref(),
            Some("fr.linkedin.com/in/anna")
        );
        // `www` only goes as a whole label at the start of the host.
        assert_eq!(
            normalize_profile_url("wwwlinkedin.com/in/x").as_deref(),
            Some("wwwlinkedin.com/in/x")
        );
        assert_eq!(
            normalize_profile_url("https://linkedin.com/in/www.x").as_deref(),
            Some("linkedin.com/in/www.x")
        );
    }

    #[test]
    fn email_normalisation() {
        assert_eq!(
            normalize_email("  Anna.Dupont@Example.COM ").as_deref(),
            Some("anna.dupont@example.com")
        );
        assert_eq!(normalize_email("a@b").as_deref(), Some("a@b"));
        assert_eq!(
            normalize_email("Zoë@Exämple.fr").as_deref(),
            Some("zoë@exämple.fr")
        );
        for raw in [
            "",
            "   ",
            "anna",
            "@example.com",
            "anna@",
            "@",
            "a@b@c",
            "anna@@example.com",
            " @ ",
        ] {
            assert_eq!(normalize_email(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let too_few = format!(
            "{NOTES}{HEADER}Anna,Dupont,linkedin.com/in/anna,,,,\nBob,Martin,linkedin.com/in/bob\n"
        );
        // 1 Notes:, 2 note, 3 blank, 4 header, 5 Anna, 6 Bob.
        assert_eq!(
            parse(&too_few),
            Err(CsvError::Malformed {
                line: 6,
                message: "expected 7 fields like the header, found 3".to_owned()
            })
        );

        let too_many = format!("{HEADER}Anna,Dupont,linkedin.com/in/anna,,\"Acme\nInc\",,,extra\n");
        assert_eq!(malformed_line(parse(&too_many)), 2);

        // After a multi-line field and blank lines.
        let later =
            format!("{HEADER}Anna,Dupont,linkedin.com/in/anna,,\"Acme\nInc\",,\n\nBob,Martin\n");
        assert_eq!(malformed_line(parse(&later)), 5);
    }

    #[test]
    fn error_messages() {
        let Err(err) = parse(&format!("{HEADER}a,b\n")) else {
            panic!("expected an error");
        };
        assert_eq!(
            err.to_string(),
            "line 2: expected 7 fields like the header, found 2"
        );
        assert_eq!(
            CsvError::MissingHeader.to_string(),
            "no LinkedIn header row (First Name, Last Name, URL, Email Address, …) was found"
        );
        assert_eq!(
            CsvError::TooManyRows { max: 3 }.to_string(),
            "the file has more than 3 rows"
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut bytes = format!("{HEADER}Anna,Dupont,linkedin.com/in/anna,,,,\n").into_bytes();
        bytes.extend_from_slice(b"B\xFFob,Martin,linkedin.com/in/bob,,,,\n");
        assert_eq!(
            parse_connections_csv(&bytes),
            Err(CsvError::Malformed {
                line: 3,
                message: "invalid UTF-8 in field 1".to_owned()
            })
        );

        // Inside a multi-line field, the line of the bad byte itself is named.
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"Anna,Dupont,linkedin.com/in/anna,,\"Acme\nInc \xC3\x28\",,\n");
        assert_eq!(malformed_line(parse_connections_csv(&bytes)), 3);

        // In the preamble too.
        let mut bytes = b"Notes:\n\"bad \xE9 byte\"\n\n".to_vec();
        bytes.extend_from_slice(HEADER.as_bytes());
        assert_eq!(malformed_line(parse_connections_csv(&bytes)), 2);

        // A column that is otherwise ignored still has to be valid.
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"\nAnna,Dupont,linkedin.com/in/anna,,,,\xFF\n");
        assert_eq!(malformed_line(parse_connections_csv(&bytes)), 3);
    }

    #[test]
    fn missing_header() {
        assert_eq!(parse(""), Err(CsvError::MissingHeader));
        assert_eq!(
            parse_connections_csv(UTF8_BOM),
            Err(CsvError::MissingHeader)
        );
        assert_eq!(parse(NOTES), Err(CsvError::MissingHeader));
        assert_eq!(
            parse("Anna,Dupont,linkedin.com/in/anna\n"),
            Err(CsvError::MissingHeader)
        );
        // URL and Email Address are both required.
        assert_eq!(
            parse("First Name,Last Name,Email Address,Company\nAnna,Dupont,,Acme\n"),
            Err(CsvError::MissingHeader)
        );
        assert_eq!(
            parse("First Name,Last Name,URL,Company\nAnna,Dupont,linkedin.com/in/anna,Acme\n"),
            Err(CsvError::MissingHeader)
        );
    }

    #[test]
    fn extra_and_reordered_columns() -> Result<(), CsvError> {
        let text = "Notes:\nsomething\n\n Email Address ,Connected On,url,Tags,LAST NAME,first name,Company\n\
                    Anna@Example.com,12 Jan 2024,https://www.linkedin.com/in/anna/,vip,Dupont,Anna,Acme\n";
        assert_eq!(
            parse(text)?,
            vec![contact(
                "Anna",
                "Dupont",
                Some("linkedin.com/in/anna"),
                Some("anna@example.com"),
                5
            )]
        );
        Ok(())
    }

    #[test]
    fn name_columns_are_optional() -> Result<(), CsvError> {
        let text = "URL,Email Address\nhttps://www.linkedin.com/in/anna,\n";
        assert_eq!(
            parse(text)?,
            vec![contact("", "", Some("linkedin.com/in/anna"), None, 2)]
        );
        Ok(())
    }

    #[test]
    fn first_matching_header_wins_and_later_header_lines_are_data() -> Result<(), CsvError> {
        let text = format!("{HEADER}{HEADER}");
        // A repeated header is an ordinary row: its URL and email do not normalise to anything.
        assert_eq!(
            parse(&text)?,
            vec![contact("First Name", "Last Name", Some("url"), None, 2)]
        );
        Ok(())
    }

    #[test]
    fn too_many_rows() -> Result<(), CsvError> {
        let mut text = HEADER.to_owned();
        for i in 0..4 {
            text.push_str(&format!("A{i},B,linkedin.com/in/a{i},,,,\n"));
        }
        assert_eq!(parse_with_limit(text.as_bytes(), 4)?.len(), 4);
        assert_eq!(
            parse_with_limit(text.as_bytes(), 3),
            Err(CsvError::TooManyRows { max: 3 })
        );
        // Empty rows do not count.
        text.push_str("\n,,,,,,\n");
        assert_eq!(parse_with_limit(text.as_bytes(), 4)?.len(), 4);
        Ok(())
    }

    /// A LinkedIn-like export with `rows` connections, a third of them with an email and one in
    /// ten with a quoted, multi-line company.
    fn generated_export(rows: usize) -> Vec<u8> {
        let mut text = String::with_capacity(rows * 110 + 1024);
        text.push('\u{feff}');
        text.push_str(NOTES);
        text.push_str(HEADER);
        for i in 0..rows {
            let email = if i % 3 == 0 {
                format!("Person.{i}@Example.com")
            } else {
                String::new()
            };
            let company = if i % 10 == 0 {
                format!("\"Acme, \"\"Unit\"\"\n{i}\"")
            } else {
                format!("Company {i}")
            };
            text.push_str(&format!(
                "First{i},Last{i},https://www.linkedin.com/in/person-{i}-{:x},{email},{company},Engineer,12 Jan 2024\n",
                i * 7919
            ));
        }
        text.into_bytes()
    }

    #[test]
    fn thirty_thousand_rows() -> Result<(), CsvError> {
        let contacts = parse_connections_csv(&generated_export(30_000))?;
        assert_eq!(contacts.len(), 30_000);
        assert_eq!(contacts[0].line, 5);
        assert_eq!(contacts[0].email.as_deref(), Some("person.0@example.com"));
        // Row 0 spans two lines, so row 1 starts on line 7.
        assert_eq!(contacts[1].line, 7);
        let last = &contacts[29_999];
        assert_eq!(last.first_name, "First29999");
        assert_eq!(
            last.profile_url.as_deref(),
            Some(format!("linkedin.com/in/person-29999-{:x}", 29_999 * 7919).as_str())
        );
        assert_eq!(last.email, None);
        // 30,000 rows plus one extra line for each of the 3,000 multi-line rows, after 4 lines.
        assert_eq!(last.line, 4 + 30_000 + 3_000);
        Ok(())
    }

    #[test]
    fn max_rows_is_enforced() {
        let bytes = generated_export(MAX_ROWS + 1);
        assert_eq!(
            parse_connections_csv(&bytes),
            Err(CsvError::TooManyRows { max: MAX_ROWS })
        );
    }
}
