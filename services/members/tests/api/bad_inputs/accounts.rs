//! Bad Register, Login, ChangePassword and RefreshSession requests.

use super::*;

pub(super) fn rows(f: &Fixture) -> Vec<BadInput> {
    vec![
        // Register: emails.
        bad(
            "register with an empty email",
            "email",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    email: String::new(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a 300-character email",
            "email",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    email: format!("{}@example.com", "a".repeat(288)),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email without @",
            "email",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    email: "anna.example.com".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email with two @",
            "email",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    email: "anna@dupont@example.com".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email with a space",
            "email",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    email: "anna dupont@example.com".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an email with a control character",
            "email",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    email: "anna\u{7}@example.com".into(),
                    ..registration()
                }
            ),
        ),
        // Register: passwords, names, locale, zone.
        bad(
            "register with a 9-character password",
            "password",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    password: "123456789".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a 300-character password",
            "password",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    password: "p".repeat(300),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a control character in the display name",
            "display_name",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    display_name: "Anna\u{1b}[31m".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an empty display name",
            "display_name",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    display_name: "   ".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with a 101-character display name",
            "display_name",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    display_name: "n".repeat(101),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with locale de",
            "locale",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    locale: "de".into(),
                    ..registration()
                }
            ),
        ),
        bad(
            "register with an unknown time zone",
            "time_zone",
            call!(
                f.anon,
                register,
                pb::RegisterRequest {
                    time_zone: "Mars/Olympus_Mons".into(),
                    ..registration()
                }
            ),
        ),
        // Login and ChangePassword.
        bad(
            "login with an email without @",
            "email",
            call!(
                f.anon,
                login,
                pb::LoginRequest {
                    email: "anna.example.com".into(),
                    password: "correct horse battery staple".into(),
                }
            ),
        ),
        bad(
            "login with a 300-character password",
            "password",
            call!(
                f.anon,
                login,
                pb::LoginRequest {
                    email: f.anna.email.clone(),
                    password: "p".repeat(300),
                }
            ),
        ),
        bad(
            "change password to a 9-character one",
            "new_password",
            call!(
                f.me,
                change_password,
                password_change(f.anna.password.clone(), "123456789")
            ),
        ),
        bad(
            "change password with a wrong old password",
            "old_password",
            call!(
                f.me,
                change_password,
                password_change("not my password at all", "a brand new passphrase")
            ),
        ),
        bad(
            "change password to the same one",
            "new_password",
            call!(
                f.me,
                change_password,
                password_change(f.anna.password.clone(), f.anna.password.clone())
            ),
        ),
        bad(
            "refresh with an empty refresh token",
            "refresh_token",
            call!(
                f.anon,
                refresh_session,
                pb::RefreshSessionRequest {
                    refresh_token: String::new(),
                }
            ),
        ),
        bad(
            "search members with a 101-character query",
            "query",
            call!(
                f.me,
                search_members,
                pb::SearchMembersRequest {
                    query: "q".repeat(101),
                    ..Default::default()
                }
            ),
        ),
    ]
}
