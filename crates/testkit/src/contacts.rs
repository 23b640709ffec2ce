//! LinkedIn `Connections.csv` exports as members download them, for the ImportContacts tests
//! and benchmark.

/// The header row of an export.
pub const CONNECTIONS_HEADER: &str =
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n";

/// The start of every export: a byte-order mark, LinkedIn's quoted note (here over two lines),
/// a blank line, and the header.
pub fn connections_preamble() -> String {
    format!(
        "\u{feff}Notes:\n\
         \"When exporting your connection data, you may notice that some of the email addresses are missing.\n\
         You will only see email addresses for connections who have allowed their connections to see or download their email address using this setting https://www.linkedin.com/psettings/privacy/email. You can learn more about this at https://www.linkedin.com/help/linkedin/answer/261\"\n\
         \n\
         {CONNECTIONS_HEADER}"
    )
}

/// The profile URL on data row `row` (0-based) of a [`generated_export`].
pub fn generated_profile_url(row: usize) -> String {
    format!("https://www.linkedin.com/in/person-{row}-{:x}", row * 7919)
}

/// A LinkedIn-like export of `rows` connections after the [`connections_preamble`]: row `i`
/// is `First{i},Last{i}` with [`generated_profile_url`]`(i)`; one row in three has an email
/// (`Person.{i}@Example.com`), one in ten a quoted company over two lines.
pub fn generated_export(rows: usize) -> String {
    let mut csv = connections_preamble();
    csv.reserve(rows * 120);
    csv.extend((0..rows).map(|i| {
        let email = if i.is_multiple_of(3) {
            format!("Person.{i}@Example.com")
        } else {
            String::new()
        };
        let company = if i.is_multiple_of(10) {
            format!("\"Acme, \"\"Unit\"\"\n{i}\"")
        } else {
            format!("Company {i}")
        };
        let url = generated_profile_url(i);
        format!("First{i},Last{i},{url},{email},{company},Engineer,12 Jan 2024\n")
    }));
    csv
}
