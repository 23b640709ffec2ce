//! Scrapes a service's `/metrics` over real HTTP, as Prometheus does, and reads samples of
//! the text exposition format back by name and labels.

use std::net::SocketAddr;

use anyhow::Context as _;

use crate::http::http_request;

/// One scrape: every sample of the text exposition format.
#[derive(Debug)]
pub struct Scrape {
    samples: Vec<Sample>,
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// `GET /metrics` on `addr`; fails unless it answers 200 in the text format.
pub async fn scrape(addr: SocketAddr) -> anyhow::Result<Scrape> {
    let reply = http_request(addr, "GET", "/metrics", &[], b"").await?;
    anyhow::ensure!(reply.status == 200, "GET /metrics: {}", reply.status);
    let content_type = reply.header("content-type").unwrap_or_default();
    anyhow::ensure!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "content type {content_type}"
    );
    let samples = reply
        .body
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| parse_sample(line).with_context(|| format!("sample {line:?}")))
        .collect::<anyhow::Result<_>>()?;
    Ok(Scrape { samples })
}

impl Scrape {
    /// The value of the sample `name` whose labels include `labels`, when there is exactly
    /// one; `None` when there is none.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|sample| sample.name == name)
            .filter(|sample| {
                labels
                    .iter()
                    .all(|(key, value)| sample.labels.iter().any(|(k, v)| k == key && v == value))
            })
            .map(|sample| sample.value)
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
        found.first().copied()
    }

    /// Like [`Scrape::value`], 0 when there is no such sample (a counter not yet counted).
    pub fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }

    /// The label sets of the samples named `name`.
    pub fn label_sets(&self, name: &str) -> Vec<Vec<(String, String)>> {
        self.samples
            .iter()
            .filter(|sample| sample.name == name)
            .map(|sample| sample.labels.clone())
            .collect()
    }
}

/// `name{key="value",...} value` or `name value`.
fn parse_sample(line: &str) -> anyhow::Result<Sample> {
    let (head, value) = line.rsplit_once(' ').context("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        value => value.parse()?,
    };
    let Some((name, rest)) = head.split_once('{') else {
        return Ok(Sample {
            name: head.to_owned(),
            labels: Vec::new(),
            value,
        });
    };
    let mut labels = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        anyhow::ensure!(chars.next() == Some('"'), "label {key} is not quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => anyhow::bail!("unfinished escape"),
                },
                c => value.push(c),
            }
        }
        labels.push((key, value));
        match chars.next() {
            Some(',') if chars.peek() == Some(&'}') => break,
            Some(',') => {}
            Some('}') => break,
            other => anyhow::bail!("unexpected {other:?} after a label"),
        }
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    #[test]
    fn samples_are_read_with_their_labels() {
        let sample = parse_sample(r#"rpc_total{method="/a.B/C",code="OK",x="q\"uote"} 3"#).unwrap();
        assert_eq!(sample.name, "rpc_total");
        assert_eq!(sample.value, 3.0);
        assert_eq!(
            sample.labels,
            [
                ("method".to_owned(), "/a.B/C".to_owned()),
                ("code".to_owned(), "OK".to_owned()),
                ("x".to_owned(), "q\"uote".to_owned()),
            ]
        );
        let bucket = parse_sample(r#"h_bucket{le="+Inf"} 1"#).unwrap();
        assert_eq!(bucket.labels, [("le".to_owned(), "+Inf".to_owned())]);
        assert_eq!(parse_sample("up 1").unwrap().labels, []);
    }
}
