//! Bad connection requests and contact imports.

use super::*;

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
    vec![
        // Connection requests.
        bad(
            "request a connection to oneself",
            "member_id",
            call!(
                f.me,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: f.anna.id.clone(),
                    note: String::new(),
                }
            ),
        ),
        bad(
            "request a connection with a 501-character note",
            "note",
            call!(
                f.me,
                request_connection,
                pb::RequestConnectionRequest {
                    member_id: f.bruno.id.clone(),
                    note: "n".repeat(501),
                }
            ),
        ),
        bad(
            "list connections with met filter 99",
            "met_filter",
            call!(
                f.me,
                list_connections,
                pb::ListConnectionsRequest {
                    met_filter: 99,
                    ..Default::default()
                }
            ),
        ),
        bad(
            "list connection requests with direction 99",
            "direction",
            call!(
                f.me,
                list_connection_requests,
                pb::ListConnectionRequestsRequest {
                    direction: 99,
                    ..Default::default()
                }
            ),
        ),
        // ImportContacts.
        bad(
            "import a CSV whose third line has too few fields",
            "csv_data",
            call!(
                f.me,
                import_contacts,
                csv(&format!(
                    "{HEADER}Anna,Dupont,https://www.linkedin.com/in/anna,,Acme,CTO,12 Jan 2024\n\
                 Bruno,Martin,https://www.linkedin.com/in/f.bruno\n"
                ))
            ),
        )
        .saying("line 3"),
        bad(
            "import a CSV with invalid UTF-8 on its second line",
            "csv_data",
            call!(
                f.me,
                import_contacts,
                pb::ImportContactsRequest {
                    csv_data: [HEADER.as_bytes(), b"Anna,Dup\xFFont,,,,,\n"].concat(),
                    ..Default::default()
                }
            ),
        )
        .saying("line 2"),
        bad(
            "import an empty CSV",
            "csv_data",
            call!(f.me, import_contacts, csv("")),
        ),
        bad(
            "import a CSV without its header",
            "csv_data",
            call!(
                f.me,
                import_contacts,
                csv("Anna,Dupont,https://www.linkedin.com/in/anna,,Acme,CTO,12 Jan 2024\n")
            ),
        ),
        bad(
            "import with a malformed requested member id",
            "request_member_ids[0]",
            call!(
                f.me,
                import_contacts,
                pb::ImportContactsRequest {
                    send_requests: true,
                    request_member_ids: vec!["not-a-uuid".into()],
                    ..csv(HEADER)
                }
            ),
        ),
        bad(
            "import with a 501-character note",
            "note",
            call!(
                f.me,
                import_contacts,
                pb::ImportContactsRequest {
                    send_requests: true,
                    note: "n".repeat(501),
                    ..csv(HEADER)
                }
            ),
        ),
        bad(
            "import naming members to ask without sending requests",
            "request_member_ids",
            call!(
                f.me,
                import_contacts,
                pb::ImportContactsRequest {
                    send_requests: false,
                    request_member_ids: vec![f.bruno.id.clone()],
                    ..csv(HEADER)
                }
            ),
        ),
    ]
}
