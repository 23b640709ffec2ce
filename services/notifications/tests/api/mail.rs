//! A minimal reader of the emails this crate writes (as lettre formats them, or as an SMTP
//! server stored them): unfolded headers, raw and with RFC 2047 words decoded, and the decoded
//! parts of a multipart/alternative body. Shared by the API tests and, through `#[path]`, by
//! the unit tests of `src/email.rs`; it uses nothing but `std`.

pub struct Email {
    /// `(name, raw value)` of each header, unfolded.
    raw_headers: Vec<(String, String)>,
    /// `(Content-Type, decoded body)` of each part.
    pub parts: Vec<(String, String)>,
}

impl Email {
    pub fn parse(raw: &str) -> Email {
        let raw = raw.replace("\r\n", "\n");
        let (raw_headers, body) = split_headers(&raw);
        let mut email = Email {
            raw_headers,
            parts: Vec::new(),
        };
        let content_type = email.header("Content-Type").unwrap_or_default();
        let Some(boundary) = content_type.split("boundary=").nth(1).map(|b| {
            b.trim_matches('"')
                .split(['"', ';'])
                .next()
                .unwrap_or(b)
                .to_owned()
        }) else {
            return email;
        };
        let closing = format!("--{boundary}--");
        let body = body.split(&closing).next().unwrap();
        for part in body.split(&format!("--{boundary}\n")).skip(1) {
            let (headers, body) = split_headers(part);
            let value = |name: &str| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.clone())
                    .unwrap_or_default()
            };
            let body = body.strip_suffix('\n').unwrap_or(body);
            let decoded = match value("Content-Transfer-Encoding")
                .to_ascii_lowercase()
                .as_str()
            {
                "quoted-printable" => decode_quoted_printable(body),
                "base64" => String::from_utf8(decode_base64(body)).unwrap(),
                _ => body.to_owned(),
            };
            email.parts.push((value("Content-Type"), decoded));
        }
        email
    }

    /// The undecoded value of the first header called `name`.
    pub fn raw_header(&self, name: &str) -> Option<&str> {
        self.raw_headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The decoded value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.raw_header(name).map(decode_words)
    }

    pub fn part(&self, content_type: &str) -> &str {
        self.parts
            .iter()
            .find(|(kind, _)| kind.starts_with(content_type))
            .map(|(_, body)| body.as_str())
            .unwrap_or_else(|| panic!("no {content_type} part"))
    }
}

fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=` and `=?utf-8?q?…?=`); blanks between two
/// encoded words are folding, not text.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let word = &rest[start + 2..];
        let mut fields = word.splitn(3, '?');
        let (Some(charset), Some(encoding), Some(tail)) =
            (fields.next(), fields.next(), fields.next())
        else {
            break;
        };
        let Some(end) = tail.find("?=") else { break };
        assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
        let before = &rest[..start];
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let text = &tail[..end];
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            decode_base64(text)
        } else {
            decode_quoted_printable(&text.replace('_', " ")).into_bytes()
        };
        out.push_str(&String::from_utf8(bytes).unwrap());
        rest = &tail[end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

fn decode_base64(encoded: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in encoded
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
    {
        let value = ALPHABET.iter().position(|a| *a == byte).unwrap() as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_quoted_printable(encoded: &str) -> String {
    let joined = encoded.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
