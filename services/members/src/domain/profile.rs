//! Profile values and their validation: requests are parsed into these types at the edge, so
//! the store and the rules only ever see valid data.

use chrono_tz::Tz;
use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use rendezvous_proto::members::v1 as pb;
use rendezvous_proto::prost_types::FieldMask;

use super::contacts_csv::normalize_profile_url;
use super::fields;
use super::password;

pub const MAX_INTERESTS: usize = 20;

/// Who may see a profile beyond its display name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Connections,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Connections => "connections",
            Self::Private => "private",
        }
    }

    /// The visibility a stored row names; `None` for anything this code never writes.
    pub fn from_stored(value: &str) -> Option<Self> {
        [Self::Public, Self::Connections, Self::Private]
            .into_iter()
            .find(|v| v.as_str() == value)
    }

    /// Whether contact imports find a profile of this visibility unless its member says
    /// otherwise: PUBLIC ones only.
    pub fn findable_by_default(self) -> bool {
        self == Self::Public
    }

    pub fn to_proto(self) -> pb::ProfileVisibility {
        match self {
            Self::Public => pb::ProfileVisibility::Public,
            Self::Connections => pb::ProfileVisibility::Connections,
            Self::Private => pb::ProfileVisibility::Private,
        }
    }

    fn from_proto(field: &str, value: i32) -> Result<Option<Self>, FieldViolation> {
        match pb::ProfileVisibility::try_from(value) {
            Ok(pb::ProfileVisibility::Unspecified) => Ok(None),
            Ok(pb::ProfileVisibility::Public) => Ok(Some(Self::Public)),
            Ok(pb::ProfileVisibility::Connections) => Ok(Some(Self::Connections)),
            Ok(pb::ProfileVisibility::Private) => Ok(Some(Self::Private)),
            Err(_) => Err(FieldViolation::new(field, "unknown visibility")),
        }
    }
}

/// Languages notifications are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locale {
    En,
    Fr,
}

impl Locale {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// Empty means English; `fr-FR` style tags reduce to their language.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldViolation> {
        let lang = value
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match lang.as_str() {
            "" | "en" => Ok(Self::En),
            "fr" => Ok(Self::Fr),
            _ => Err(FieldViolation::new(field, "must be `en` or `fr`")),
        }
    }
}

/// An IANA time zone name; empty means UTC.
pub fn time_zone(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        return Ok("UTC".to_owned());
    }
    value
        .parse::<Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| FieldViolation::new(field, "must be an IANA time zone such as Europe/Paris"))
}

/// A LinkedIn profile URL, stored normalised; empty clears it.
pub fn linkedin_url(field: &str, value: &str) -> Result<Option<String>, FieldViolation> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    validate::text(field, value, 1, 300, false)?;
    match normalize_profile_url(value) {
        Some(url)
            if url.starts_with("linkedin.com/in/") && url.len() > "linkedin.com/in/".len() =>
        {
            Ok(Some(url))
        }
        _ => Err(FieldViolation::new(
            field,
            "must be a LinkedIn profile URL such as https://www.linkedin.com/in/your-name",
        )),
    }
}

/// Interests: trimmed, lower-cased, deduplicated tags of 1 to 40 characters.
pub fn interests(field: &str, values: &[String]) -> Result<Vec<String>, FieldViolation> {
    if values.len() > MAX_INTERESTS {
        return Err(FieldViolation::new(
            field,
            format!("at most {MAX_INTERESTS} interests"),
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let tag = validate::text(&format!("{field}[{i}]"), value, 1, 40, false)?.to_lowercase();
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn display_name(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 1, 100, false)
}

/// A city: free text of at most 100 characters; empty for none.
pub fn city(field: &str, value: &str) -> Result<String, FieldViolation> {
    validate::text(field, value, 0, 100, false)
}

/// A valid registration.
#[derive(Clone, Debug)]
pub struct NewMember {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub city: String,
    pub locale: Locale,
    pub time_zone: String,
}

impl TryFrom<pb::RegisterRequest> for NewMember {
    type Error = Vec<FieldViolation>;

    fn try_from(req: pb::RegisterRequest) -> Result<Self, Self::Error> {
        let (email, (), display_name, city, locale, time_zone) = fields::all((
            validate::email("email", &req.email),
            password::validate("password", &req.password),
            display_name("display_name", &req.display_name),
            city("city", &req.city),
            Locale::parse("locale", &req.locale),
            time_zone("time_zone", &req.time_zone),
        ))?;
        Ok(Self {
            email,
            password: req.password,
            display_name,
            city,
            locale,
            time_zone,
        })
    }
}

/// A validated field-mask update of one's own profile: `None` leaves a field unchanged.
#[derive(Clone, Debug, Default)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub headline: Option<String>,
    pub company: Option<String>,
    pub city: Option<String>,
    pub interests: Option<Vec<String>>,
    pub locale: Option<Locale>,
    pub time_zone: Option<String>,
    /// `Some(None)` clears the URL.
    pub linkedin_url: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    /// Whether contact imports may find the member; when `None` and the visibility changes,
    /// the new visibility's default.
    pub findable_by_contact_details: Option<bool>,
    /// The etag the client read, when it sent one.
    pub etag: Option<String>,
}

/// Paths UpdateMember accepts in `update_mask`.
pub const UPDATABLE_PATHS: &[&str] = &[
    "display_name",
    "headline",
    "company",
    "city",
    "interests",
    "locale",
    "time_zone",
    "linkedin_url",
    "visibility",
    "findable_by_contact_details",
];

impl ProfileUpdate {
    /// Parses the member and mask of an UpdateMember request. An empty mask is refused: a
    /// full replacement of a profile is never what a client means.
    pub fn parse(
        member: &pb::Member,
        mask: Option<&FieldMask>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
        let mut update = Self {
            etag: (!member.etag.is_empty()).then(|| member.etag.clone()),
            ..Self::default()
        };
        fields::all((
            fields::rule(
                !paths.is_empty(),
                "update_mask",
                "is required: name the fields to change",
            ),
            fields::each(paths.iter().map(|path| update.set(path, member))),
        ))?;
        Ok(update)
    }

    /// Takes the value of one mask path from `member`.
    fn set(&mut self, path: &str, member: &pb::Member) -> Result<(), FieldViolation> {
        match path {
            "display_name" => {
                self.display_name =
                    Some(display_name("member.display_name", &member.display_name)?);
            }
            "headline" => {
                self.headline = Some(validate::text(
                    "member.headline",
                    &member.headline,
                    0,
                    200,
                    false,
                )?);
            }
            "company" => {
                self.company = Some(validate::text(
                    "member.company",
                    &member.company,
                    0,
                    100,
                    false,
                )?);
            }
            "city" => self.city = Some(city("member.city", &member.city)?),
            "interests" => {
                self.interests = Some(interests("member.interests", &member.interests)?);
            }
            "locale" => self.locale = Some(Locale::parse("member.locale", &member.locale)?),
            "time_zone" => {
                self.time_zone = Some(time_zone("member.time_zone", &member.time_zone)?);
            }
            "linkedin_url" => {
                self.linkedin_url =
                    Some(linkedin_url("member.linkedin_url", &member.linkedin_url)?);
            }
            "visibility" => {
                let visibility = Visibility::from_proto("member.visibility", member.visibility)?;
                self.visibility = Some(
                    visibility
                        .ok_or_else(|| FieldViolation::new("member.visibility", "must be set"))?,
                );
            }
            "findable_by_contact_details" => {
                self.findable_by_contact_details = Some(member.findable_by_contact_details);
            }
            other => {
                return Err(FieldViolation::new(
                    "update_mask",
                    format!(
                        "unknown or read-only path `{other}`; updatable: {}",
                        UPDATABLE_PATHS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_and_zones() {
        assert_eq!(Locale::parse("l", "fr-FR").unwrap(), Locale::Fr);
        assert_eq!(Locale::parse("l", "").unwrap(), Locale::En);
        assert!(Locale::parse("l", "de").is_err());
        assert_eq!(time_zone("t", "Europe/Paris").unwrap(), "Europe/Paris");
        assert!(time_zone("t", "Mars/Olympus").is_err());
    }

    #[test]
    fn linkedin_urls_normalise() {
        assert_eq!(
            linkedin_url("u", "https://www.LinkedIn.com/in/Anna-Dupont/").unwrap(),
            Some("linkedin.com/in/anna-dupont".to_owned())
        );
        assert!(linkedin_url("u", "https://example.com/anna").is_err());
        assert_eq!(linkedin_url("u", " ").unwrap(), None);
    }
}
