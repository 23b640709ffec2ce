//! Collecting every field violation of a request at once: each field parses to a `Result`,
//! and [`all`] turns a tuple of them into the tuple of values or every violation together.

use std::collections::HashSet;

use rendezvous_common::error::FieldViolation;
use rendezvous_common::validate;
use uuid::Uuid;

/// What a field's parser may fail with: one violation, or several (a list, a nested message).
pub trait IntoViolations {
    fn into_violations(self) -> Vec<FieldViolation>;
}

impl IntoViolations for FieldViolation {
    fn into_violations(self) -> Vec<FieldViolation> {
        vec![self]
    }
}

impl IntoViolations for Vec<FieldViolation> {
    fn into_violations(self) -> Vec<FieldViolation> {
        self
    }
}

/// A tuple of field results that [`all`] combines.
pub trait Fields {
    type Values;
    fn all(self) -> Result<Self::Values, Vec<FieldViolation>>;
}

macro_rules! impl_fields {
    ($($value:ident $error:ident $var:ident),+) => {
        impl<$($value, $error: IntoViolations),+> Fields for ($(Result<$value, $error>,)+) {
            type Values = ($($value,)+);

            fn all(self) -> Result<Self::Values, Vec<FieldViolation>> {
                let ($($var,)+) = self;
                let mut violations = Vec::new();
                $(
                    let $var = $var.map_err(|e| violations.extend(e.into_violations())).ok();
                )+
                match ($($var,)+) {
                    ($(Some($var),)+) => Ok(($($var,)+)),
                    _ => Err(violations),
                }
            }
        }
    };
}

impl_fields!(A EA a);
impl_fields!(A EA a, B EB b);
impl_fields!(A EA a, B EB b, C EC c);
impl_fields!(A EA a, B EB b, C EC c, D ED d);
impl_fields!(A EA a, B EB b, C EC c, D ED d, E EE e);
impl_fields!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f);
impl_fields!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g);
impl_fields!(A EA a, B EB b, C EC c, D ED d, E EE e, F EF f, G EG g, H EH h);

/// The values of every field, or every violation of the request at once.
pub fn all<F: Fields>(fields: F) -> Result<F::Values, Vec<FieldViolation>> {
    fields.all()
}

/// Every element of a repeated field parsed, or the violations of all the bad ones.
pub fn each<T, E: IntoViolations>(
    results: impl IntoIterator<Item = Result<T, E>>,
) -> Result<Vec<T>, Vec<FieldViolation>> {
    let mut values = Vec::new();
    let mut violations = Vec::new();
    for result in results {
        match result {
            Ok(value) => values.push(value),
            Err(e) => violations.extend(e.into_violations()),
        }
    }
    if violations.is_empty() {
        Ok(values)
    } else {
        Err(violations)
    }
}

/// A rule across fields: a violation of `field` unless `holds`.
pub fn rule(holds: bool, field: &str, description: &str) -> Result<(), FieldViolation> {
    if holds {
        Ok(())
    } else {
        Err(FieldViolation::new(field, description))
    }
}

/// A list of ids, at most `max`, each a UUID, duplicates dropped (first one kept).
pub fn unique_ids(
    field: &str,
    values: &[String],
    max: usize,
) -> Result<Vec<Uuid>, Vec<FieldViolation>> {
    if values.len() > max {
        return Err(vec![FieldViolation::new(
            field,
            format!("at most {max} ids"),
        )]);
    }
    let mut ids = each(
        values
            .iter()
            .enumerate()
            .map(|(i, id)| validate::id(&format!("{field}[{i}]"), id)),
    )?;
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(*id));
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(field: &str) -> Result<u8, FieldViolation> {
        Err(FieldViolation::new(field, "is bad"))
    }

    fn fields_of(violations: &[FieldViolation]) -> Vec<&str> {
        violations.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn all_gives_every_value_when_every_field_is_valid() {
        let ok: Result<u8, FieldViolation> = Ok(1);
        let many: Result<&str, Vec<FieldViolation>> = Ok("x");
        assert_eq!(all((ok, many)).unwrap(), (1, "x"));
    }

    #[test]
    fn all_reports_every_bad_field_in_order() {
        let nested: Result<u8, Vec<FieldViolation>> = Err(vec![
            FieldViolation::new("ids[0]", "is bad"),
            FieldViolation::new("ids[2]", "is bad"),
        ]);
        let err = all((bad("a"), Ok::<_, FieldViolation>(2), nested, bad("b"))).unwrap_err();
        assert_eq!(fields_of(&err), ["a", "ids[0]", "ids[2]", "b"]);
    }

    #[test]
    fn each_and_rule() {
        let err = each([Ok(1), bad("x[1]"), Ok(3), bad("x[3]")]).unwrap_err();
        assert_eq!(fields_of(&err), ["x[1]", "x[3]"]);
        assert_eq!(each([Ok::<_, FieldViolation>(1), Ok(2)]).unwrap(), [1, 2]);
        assert!(rule(true, "f", "no").is_ok());
        assert_eq!(rule(false, "f", "no").unwrap_err().field, "f");
    }
}
