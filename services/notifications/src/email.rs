//! Email: message building (subject, text and HTML parts, stable Message-ID, List-Unsubscribe
//! with one-click List-Unsubscribe-Post) and the transports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp;
use lettre::{
    Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::render::Rendered;

/// Right-hand side of every Message-ID, so that a resend of a notification carries the same id.
const MESSAGE_ID_DOMAIN: &str = "rendezvous.local";
/// Limit on each network operation of an SMTP exchange.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest unsubscribe URL that keeps the header line within RFC 5322's 998 characters.
const MAX_UNSUBSCRIBE_URL_LEN: usize = 900;

/// One notification email, ready to build.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingEmail<'a> {
    /// Id of the notification; the Message-ID is derived from it.
    pub notification_id: &'a str,
    /// Display name of the recipient; may be empty.
    pub to_name: &'a str,
    pub to_email: &'a str,
    pub rendered: &'a Rendered,
    /// `https://…` or `mailto:…`, sent as the List-Unsubscribe header.
    pub unsubscribe_url: &'a str,
}

/// Why an email could not be built or a mailer configured.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("invalid email address {address:?}: {source}")]
    InvalidAddress {
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("notification id {0:?} cannot form a Message-ID")]
    InvalidNotificationId(String),
    #[error("invalid unsubscribe URL {0:?}: an http(s) or mailto URL without spaces is required")]
    InvalidUnsubscribeUrl(String),
    /// The URL itself is not repeated: it may hold a password.
    #[error("invalid SMTP URL: {0}")]
    InvalidSmtpUrl(String),
    #[error("the SMTP mailer must be created inside a Tokio runtime")]
    NoRuntime,
    #[error("cannot create the mail directory {}: {source}", path.display())]
    MailDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the email: {0}")]
    Build(#[from] lettre::error::Error),
}

/// A failed send; `permanent` failures must not be retried.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The server refused the message for good (SMTP 5xx): retrying would fail the same way.
    pub permanent: bool,
    pub message: String,
}

/// Builds the email of one notification: `rendered.title` as the subject, `text` and `html`
/// as alternative parts, Message-ID `<{notification_id}@rendezvous.local>`, List-Unsubscribe
/// (with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` for an http(s) URL, RFC 8058) and
/// `Auto-Submitted: auto-generated`.
pub fn build_message(from: &Mailbox, email: &OutgoingEmail<'_>) -> Result<Message, EmailError> {
    let to = recipient(email.to_name, email.to_email)?;
    let message_id = message_id(email.notification_id)?;
    let unsubscribe = ListUnsubscribe::new(email.unsubscribe_url)?;
    let subject: String = email
        .rendered
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_click = unsubscribe.is_http();
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject.trim())
        .message_id(Some(message_id))
        .header(unsubscribe);
    if one_click {
        builder = builder.header(ListUnsubscribePost);
    }
    let message = builder
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(
            email.rendered.text.clone(),
            email.rendered.html.clone(),
        ))?;
    Ok(message)
}

fn recipient(name: &str, email: &str) -> Result<Mailbox, EmailError> {
    let address: Address = email
        .trim()
        .parse()
        .map_err(|source| EmailError::InvalidAddress {
            address: email.to_owned(),
            source,
        })?;
    let name = name
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
}

fn message_id(notification_id: &str) -> Result<String, EmailError> {
    let valid = !notification_id.is_empty()
        && notification_id.len() <= 128
        && notification_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !notification_id.starts_with('.')
        && !notification_id.ends_with('.')
        && !notification_id.contains("..");
    if valid {
        Ok(format!("<{notification_id}@{MESSAGE_ID_DOMAIN}>"))
    } else {
        Err(EmailError::InvalidNotificationId(
            notification_id.to_owned(),
        ))
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369); holds the URL without its angle brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListUnsubscribe(String);

impl ListUnsubscribe {
    fn new(url: &str) -> Result<Self, EmailError> {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        let valid = ["https://", "http://", "mailto:"]
            .iter()
            .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
            && url.len() <= MAX_UNSUBSCRIBE_URL_LEN
            && url
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
        if valid {
            Ok(ListUnsubscribe(url.to_owned()))
        } else {
            Err(EmailError::InvalidUnsubscribeUrl(url.to_owned()))
        }
    }
}

impl ListUnsubscribe {
    /// Whether the URL is http(s), which one-click unsubscribe POSTs to (not `mailto:`).
    fn is_http(&self) -> bool {
        let lower = self.0.to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    }
}

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let url = s
            .trim()
            .strip_prefix('<')
            .and_then(|rest| rest.split_once('>'))
            .map(|(url, _)| url)
            .ok_or("List-Unsubscribe must hold a URL in angle brackets")?;
        Ok(ListUnsubscribe(url.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the List-Unsubscribe URL
/// takes a POST of that form to unsubscribe at once, without a page to visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ListUnsubscribePost;

impl ListUnsubscribePost {
    const VALUE: &str = "List-Unsubscribe=One-Click";
}

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if s.trim() == Self::VALUE {
            Ok(ListUnsubscribePost)
        } else {
            Err(format!("unexpected List-Unsubscribe-Post value {s:?}").into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), Self::VALUE.to_owned())
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): tells auto-responders not to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if s.trim().eq_ignore_ascii_case("auto-generated") {
            Ok(AutoSubmitted)
        } else {
            Err(format!("unexpected Auto-Submitted value {s:?}").into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// Where emails go: an SMTP server, or a folder of `.eml` files.
#[derive(Debug, Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    /// `smtp://host:port` (plain, for local catchers), `smtp+starttls://user:pass@host:587`,
    /// `smtps://user:pass@host:465`. User and password are percent-encoded; the default
    /// ports are 25, 587 and 465. Must be called inside a Tokio runtime (the connection pool
    /// runs a task).
    pub fn smtp(url: &str) -> Result<Self, EmailError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(EmailError::NoRuntime);
        }
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(EmailError::InvalidSmtpUrl(
                "expected smtp://, smtp+starttls:// or smtps://".to_owned(),
            ));
        };
        let url = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => format!("smtp://{rest}"),
            "smtps" => format!("smtps://{rest}"),
            // lettre spells STARTTLS as a query parameter.
            "smtp+starttls" => {
                let separator = if rest.contains('?') { '&' } else { '?' };
                format!("smtp://{rest}{separator}tls=required")
            }
            other => {
                return Err(EmailError::InvalidSmtpUrl(format!(
                    "unsupported scheme {other:?}: expected smtp, smtp+starttls or smtps"
                )));
            }
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|err| EmailError::InvalidSmtpUrl(err.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Mailer::Smtp(transport))
    }

    /// Writes one `.eml` file per message into `dir` (created if missing).
    pub fn files(dir: &Path) -> Result<Self, EmailError> {
        std::fs::create_dir_all(dir).map_err(|source| EmailError::MailDirectory {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Mailer::Files(AsyncFileTransport::new(dir)))
    }

    /// Sends one message. SMTP 5xx replies are permanent failures, except authentication
    /// failures (a configuration fault that a retry after fixing it gets through); 4xx
    /// replies, connection errors and timeouts are transient.
    pub async fn send(&self, message: Message) -> Result<(), SendError> {
        match self {
            Mailer::Smtp(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|err| smtp_send_error(&err)),
            Mailer::Files(transport) => {
                transport
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|err| SendError {
                        permanent: false,
                        message: format!("cannot write the email file: {err}"),
                    })
            }
        }
    }
}

fn smtp_send_error(err: &smtp::Error) -> SendError {
    // 530 authentication required, 534 mechanism too weak, 535 bad credentials,
    // 538 encryption required for the mechanism.
    let configuration_fault = err
        .status()
        .is_some_and(|code| matches!(u16::from(code), 530 | 534 | 535 | 538));
    SendError {
        permanent: err.is_permanent() && !configuration_fault,
        message: format!("smtp: {err}"),
    }
}

#[cfg(test)]
mod tests {

    use rendezvous_proto::notifications::v1 as pb;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    use super::*;
    use crate::mail_reader::{self as mail, Email};

    /// Parses an email as it goes on the wire, asserting it is 7-bit and a complete
    /// multipart/alternative message.
    fn parse_wire(raw: &[u8]) -> Email {
        let raw = std::str::from_utf8(raw).unwrap();
        assert!(raw.is_ascii(), "an email on the wire is 7-bit");
        let email = Email::parse(raw);
        let content_type = email.header("Content-Type").unwrap();
        assert!(
            content_type.starts_with("multipart/alternative"),
            "{content_type}"
        );
        let boundary = content_type.split("boundary=\"").nth(1).unwrap();
        let boundary = boundary.split('"').next().unwrap();
        let (_, after_last) = raw.split_once(&format!("--{boundary}--")).unwrap();
        assert!(after_last.trim().is_empty());
        email
    }
    use crate::render::{Locale, render};

    const NOTIFICATION_ID: &str = "0197a6f2-4b1c-7d2e-9f00-123456789abc";
    const UNSUBSCRIBE_URL: &str = "https://rendezvous.example/unsubscribe?token=abc123";

    fn from() -> Mailbox {
        "Rendezvous <notifications@rendezvous.example>"
            .parse()
            .unwrap()
    }

    fn rendered(locale: Locale) -> Rendered {
        let notice = pb::Notice::from(pb::RsvpConfirmed {
            event: Some(pb::EventFacts {
                title: "Café networking — Le Marais".to_owned(),
                start_time: Some(rendezvous_proto::prost_types::Timestamp {
                    seconds: 1_749_105_000,
                    nanos: 0,
                }),
                time_zone: "Europe/Paris".to_owned(),
                venue_name: "Le Peloton Café".to_owned(),
                ..Default::default()
            }),
        });
        render(&notice, locale, "Zoé")
    }

    fn build(rendered: &Rendered) -> Message {
        build_message(
            &from(),
            &OutgoingEmail {
                notification_id: NOTIFICATION_ID,
                to_name: "Zoé Martin",
                to_email: "zoe@example.com",
                rendered,
                unsubscribe_url: UNSUBSCRIBE_URL,
            },
        )
        .unwrap()
    }

    #[test]
    fn built_message_carries_subject_ids_headers_and_both_parts() {
        let rendered = rendered(Locale::En);
        let message = build(&rendered);
        let raw = message.formatted();
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.contains(&format!(
            "Message-ID: <{NOTIFICATION_ID}@rendezvous.local>\r\n"
        )));
        assert!(text.contains(&format!("List-Unsubscribe: <{UNSUBSCRIBE_URL}>\r\n")));
        assert!(text.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(text.contains("Auto-Submitted: auto-generated\r\n"));
        assert!(text.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(text.contains("Content-Type: text/html; charset=utf-8"));

        let parsed = parse_wire(&raw);
        assert_eq!(parsed.header("Subject").unwrap(), rendered.title);
        assert_eq!(parsed.header("To").unwrap(), "Zoé Martin <zoe@example.com>");
        assert_eq!(
            parsed.header("From").as_deref(),
            Some("Rendezvous <notifications@rendezvous.example>")
        );
        assert!(parsed.header("Date").is_some());
        assert_eq!(parsed.part("text/plain"), rendered.text);
        assert_eq!(parsed.part("text/html"), rendered.html);
        assert_eq!(
            message.headers().get::<ListUnsubscribe>(),
            Some(ListUnsubscribe(UNSUBSCRIBE_URL.to_owned()))
        );
        assert_eq!(
            message.headers().get::<AutoSubmitted>(),
            Some(AutoSubmitted)
        );
    }

    #[test]
    fn french_subject_is_encoded_as_utf8_words() {
        let rendered = rendered(Locale::Fr);
        let raw = build(&rendered).formatted();
        let parsed = parse_wire(&raw);
        let subject = parsed.raw_header("Subject").unwrap();
        assert!(
            subject.is_ascii() && subject.contains("=?utf-8?b?"),
            "{subject}"
        );
        assert_eq!(mail::decode_words(subject), rendered.title);
        assert!(rendered.title.contains("Inscription confirmée\u{a0}:"));
        assert_eq!(parsed.part("text/plain"), rendered.text);
        assert!(parsed.part("text/html").contains("«\u{a0}Café networking"));
    }

    #[test]
    fn message_id_is_stable_per_notification() {
        let rendered = rendered(Locale::En);
        let first = build(&rendered);
        let second = build(&rendered);
        assert_eq!(
            first.headers().get_raw("Message-ID"),
            second.headers().get_raw("Message-ID")
        );
    }

    #[test]
    fn bad_inputs_are_refused() {
        let rendered = rendered(Locale::En);
        let email = OutgoingEmail {
            notification_id: NOTIFICATION_ID,
            to_name: "",
            to_email: "zoe@example.com",
            rendered: &rendered,
            unsubscribe_url: UNSUBSCRIBE_URL,
        };
        assert!(build_message(&from(), &email).is_ok());
        for to_email in ["", "zoe", "zoe@", "@example.com", "a b@example.com"] {
            let err = build_message(&from(), &OutgoingEmail { to_email, ..email }).unwrap_err();
            assert!(
                matches!(err, EmailError::InvalidAddress { .. }),
                "{to_email}"
            );
        }
        for notification_id in ["", "a b", "x>\r\nBcc: evil@example.com", "é", "a..b"] {
            let err = build_message(
                &from(),
                &OutgoingEmail {
                    notification_id,
                    ..email
                },
            )
            .unwrap_err();
            assert!(
                matches!(err, EmailError::InvalidNotificationId(_)),
                "{notification_id}"
            );
        }
        for unsubscribe_url in [
            "",
            "https://",
            "ftp://x",
            "https://a b",
            "https://x>\r\nBcc: y",
        ] {
            let err = build_message(
                &from(),
                &OutgoingEmail {
                    unsubscribe_url,
                    ..email
                },
            )
            .unwrap_err();
            assert!(
                matches!(err, EmailError::InvalidUnsubscribeUrl(_)),
                "{unsubscribe_url}"
            );
        }
        let mailto = build_message(
            &from(),
            &OutgoingEmail {
                unsubscribe_url: "mailto:unsubscribe@rendezvous.example?subject=stop",
                ..email
            },
        )
        .unwrap();
        // One-click unsubscribe is for http(s) URLs only.
        assert_eq!(mailto.headers().get::<ListUnsubscribePost>(), None);
    }

    #[test]
    fn header_injection_through_the_title_or_name_is_neutralised() {
        let mut rendered = rendered(Locale::En);
        rendered.title = "Hello\r\nBcc: evil@example.com".to_owned();
        let message = build_message(
            &from(),
            &OutgoingEmail {
                notification_id: NOTIFICATION_ID,
                to_name: "Zoé\r\nBcc: evil@example.com",
                to_email: "zoe@example.com",
                rendered: &rendered,
                unsubscribe_url: UNSUBSCRIBE_URL,
            },
        )
        .unwrap();
        let parsed = parse_wire(&message.formatted());
        assert!(parsed.header("Bcc").is_none());
        assert_eq!(
            parsed.raw_header("Subject"),
            Some("Hello  Bcc: evil@example.com")
        );
        assert_eq!(message.envelope().to().len(), 1);
    }

    #[tokio::test]
    async fn files_mailer_writes_one_parseable_eml_per_message() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data").join("mail");
        let mailer = Mailer::files(&dir).unwrap();
        let rendered = rendered(Locale::Fr);
        mailer.send(build(&rendered)).await.unwrap();

        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().unwrap(), "eml");
        let parsed = parse_wire(&std::fs::read(&files[0]).unwrap());
        assert_eq!(parsed.header("Subject").unwrap(), rendered.title);
        assert_eq!(
            parsed.header("Message-ID").as_deref(),
            Some(format!("<{NOTIFICATION_ID}@rendezvous.local>").as_str())
        );
        assert_eq!(parsed.part("text/plain"), rendered.text);
        assert_eq!(parsed.part("text/html"), rendered.html);

        mailer.send(build(&rendered)).await.unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn files_mailer_reports_a_directory_it_cannot_create() {
        let temp = tempfile::tempdir().unwrap();
        let file = temp.path().join("not-a-directory");
        std::fs::write(&file, b"").unwrap();
        let err = Mailer::files(&file.join("mail")).unwrap_err();
        assert!(matches!(err, EmailError::MailDirectory { .. }));
    }

    #[tokio::test]
    async fn smtp_urls_are_parsed_and_bad_ones_refused() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://localhost",
            "smtp+starttls://user:p%40ss@smtp.example.com:587",
            "SMTP+STARTTLS://smtp.example.com",
            "smtps://user:pass@smtp.example.com:465",
        ] {
            assert!(matches!(Mailer::smtp(url), Ok(Mailer::Smtp(_))), "{url}");
        }
        for url in [
            "",
            "localhost:25",
            "http://smtp.example.com",
            "smtp://",
            "smtp://:25",
        ] {
            let err = Mailer::smtp(url).unwrap_err();
            assert!(matches!(err, EmailError::InvalidSmtpUrl(_)), "{url}: {err}");
        }
        let err = Mailer::smtp("ftp://user:secret@host").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn smtp_mailer_outside_a_runtime_is_an_error_not_a_panic() {
        assert!(matches!(
            Mailer::smtp("smtp://127.0.0.1:2525"),
            Err(EmailError::NoRuntime)
        ));
    }

    #[tokio::test]
    async fn refused_connection_is_a_transient_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let err = mailer.send(build(&rendered(Locale::En))).await.unwrap_err();
        assert!(!err.permanent, "{err}");
    }

    /// A one-connection SMTP server that accepts everything but answers `reply` to `verb`.
    async fn fake_smtp(verb: &'static str, reply: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            while let Ok(Some(line)) = lines.next_line().await {
                let upper = line.to_ascii_uppercase();
                let answer = if upper.starts_with(verb) {
                    format!("{reply}\r\n")
                } else if upper.starts_with("EHLO") {
                    "250-fake\r\n250 AUTH PLAIN LOGIN\r\n".to_owned()
                } else if upper.starts_with("DATA") {
                    "354 go ahead\r\n".to_owned()
                } else if upper.starts_with("QUIT") {
                    "221 bye\r\n".to_owned()
                } else if upper.starts_with("MAIL")
                    || upper.starts_with("RCPT")
                    || upper.starts_with("RSET")
                    || upper.starts_with("NOOP")
                    || line == "."
                {
                    "250 ok\r\n".to_owned()
                } else {
                    continue;
                };
                if write.write_all(answer.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        port
    }

    #[tokio::test]
    async fn smtp_replies_map_to_permanent_or_transient_failures() {
        let cases = [
            ("RCPT", "550 5.1.1 no such user", "", true),
            ("RCPT", "451 4.7.1 try again later", "", false),
            ("MAIL", "552 5.3.4 message too big", "", true),
            ("AUTH", "535 5.7.8 bad credentials", "user:pass@", false),
        ];
        for (verb, reply, credentials, permanent) in cases {
            let port = fake_smtp(verb, reply).await;
            let mailer = Mailer::smtp(&format!("smtp://{credentials}127.0.0.1:{port}")).unwrap();
            let err = mailer.send(build(&rendered(Locale::En))).await.unwrap_err();
            assert_eq!(err.permanent, permanent, "{verb} {reply}: {err}");
            assert!(err.message.contains(&reply[..3]), "{verb} {reply}: {err}");
        }
        let port = fake_smtp("NONE", "").await;
        let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
        mailer.send(build(&rendered(Locale::En))).await.unwrap();
    }
}
