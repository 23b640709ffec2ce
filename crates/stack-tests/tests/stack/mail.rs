//! Reads the `.eml` files the notifications service wrote: the Message-ID that names the
//! notification, the decoded subject, and the decoded text and HTML parts.

use base64::Engine as _;

/// One email as a reader sees it.
#[derive(Debug)]
pub struct Eml {
    pub message_id: String,
    /// The `To` header as written (an encoded display name and the address).
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every complete email in `dir` (one still being written is left for the next look).
pub fn read_all(dir: &std::path::Path) -> Vec<Eml> {
    let mut emails = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "eml") {
            let raw = std::fs::read_to_string(&path).unwrap_or_default();
            emails.extend(Eml::parse(&raw));
        }
    }
    emails
}

impl Eml {
    /// The email in `raw`, or `None` if it is not a complete text + HTML email.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let headers = unfold(head);
        let boundary = header(&headers, "content-type")
            .split_once("boundary=")
            .map(|(_, b)| b.trim_matches('"').to_owned())?;
        if !body.contains(&format!("--{boundary}--")) {
            return None;
        }
        let mut text = None;
        let mut html = None;
        for part in body.split(&format!("--{boundary}")).skip(1) {
            let Some((part_head, part_body)) = part.trim_start_matches('\n').split_once("\n\n")
            else {
                continue;
            };
            let part_headers = unfold(part_head);
            let decoded = decode_part(
                header(&part_headers, "content-transfer-encoding"),
                part_body.trim_end_matches('\n'),
            )?;
            let kind = header(&part_headers, "content-type");
            if kind.starts_with("text/plain") {
                text = Some(decoded);
            } else if kind.starts_with("text/html") {
                html = Some(decoded);
            }
        }
        Some(Self {
            message_id: header(&headers, "message-id").to_owned(),
            to: header(&headers, "to").to_owned(),
            subject: decode_encoded_words(header(&headers, "subject"))?,
            text: text?,
            html: html?,
        })
    }
}

/// `(lower-case name, value)` of each header, continuation lines joined.
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        match (line.starts_with([' ', '\t']), headers.last_mut()) {
            (true, Some((_, value))) => value.push_str(line),
            _ => {
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
                }
            }
        }
    }
    headers
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

fn decode_part(encoding: &str, body: &str) -> Option<String> {
    let bytes = match encoding.to_ascii_lowercase().as_str() {
        "base64" => base64_bytes(body)?,
        "quoted-printable" => quoted_printable_bytes(body, false)?,
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).ok()
}

fn base64_bytes(encoded: &str) -> Option<Vec<u8>> {
    let compact: String = encoded.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Quoted-printable (RFC 2045); in an encoded word (`q`), `_` stands for a space.
fn quoted_printable_bytes(encoded: &str, word: bool) -> Option<Vec<u8>> {
    let soft_breaks_gone = encoded.replace("=\n", "");
    let mut bytes = soft_breaks_gone.bytes();
    let mut out = Vec::new();
    while let Some(byte) = bytes.next() {
        match byte {
            b'=' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b'_' if word => out.push(b' '),
            other => out.push(other),
        }
    }
    Some(out)
}

/// A header value with its RFC 2047 words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded; the
/// blanks between two words are folding, not text.
fn decode_encoded_words(value: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut pending_blank = String::new();
    let mut previous_was_word = false;
    for token in value.split(' ') {
        let word = token
            .strip_prefix("=?")
            .and_then(|t| t.strip_suffix("?="))
            .and_then(|t| {
                let mut fields = t.splitn(3, '?');
                Some((fields.next()?, fields.next()?, fields.next()?))
            });
        match word {
            Some((_charset, encoding, text)) => {
                if !previous_was_word {
                    out.extend(pending_blank.bytes());
                }
                if encoding.eq_ignore_ascii_case("b") {
                    out.extend(base64_bytes(text)?);
                } else {
                    out.extend(quoted_printable_bytes(text, true)?);
                }
                previous_was_word = true;
            }
            None => {
                out.extend(pending_blank.bytes());
                out.extend(token.bytes());
                previous_was_word = false;
            }
        }
        pending_blank = " ".to_owned();
    }
    String::from_utf8(out).ok()
}

/// The text a reader sees in an HTML document: tags gone, entities decoded.
pub fn html_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
