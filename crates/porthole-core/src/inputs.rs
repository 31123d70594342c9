//! What a person gives a session: typed launch parameters (from the provider's schema) and
//! answers to the prompts a session waits on. Values travel as text, as the providers take them;
//! [`check_values`] is the one place they are checked against a schema, for the app, the CLI and
//! every provider.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What kind of value a parameter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Text,
    Number,
    Boolean,
    /// Nested objects and lists, written as JSON.
    Json,
}

/// One parameter of a launch or a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Parameter {
    /// Its name in the request (`--param NAME=VALUE`).
    pub name: String,
    /// What to show a person.
    pub label: String,
    pub kind: ParamKind,
    pub required: bool,
    /// Filled in when the person gives nothing.
    pub default: Option<String>,
    /// What to put there.
    pub help: Option<String>,
}

/// Something a session waits on a person for: an approval or a question with fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Prompt {
    pub id: String,
    /// The question, in the provider's words.
    pub message: String,
    /// What the answer holds (none: a plain confirmation).
    pub parameters: Vec<Parameter>,
    /// The provider's word for answering ("Approve"), where it has one.
    #[serde(default)]
    pub submit_label: Option<String>,
    /// The provider's word for refusing the prompt ("Reject"); `None`: it cannot be refused,
    /// only answered.
    #[serde(default)]
    pub reject_label: Option<String>,
}

/// `values` checked against `schema`, with defaults filled: a missing required value is named,
/// a value of the wrong kind says which and why, and a name the schema does not have is refused
/// (a typo would otherwise be dropped silently).
pub fn check_values(
    schema: &[Parameter],
    values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    if let Some(unknown) = values
        .keys()
        .find(|name| !schema.iter().any(|p| &p.name == *name))
    {
        let known: Vec<&str> = schema.iter().map(|p| p.name.as_str()).collect();
        return Err(Error::invalid_input(if known.is_empty() {
            format!("This takes no parameters, so {unknown:?} cannot be given.")
        } else {
            format!(
                "There is no parameter {unknown:?}; the parameters are {}.",
                known.join(", ")
            )
        }));
    }
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for p in schema {
        let given = values
            .get(&p.name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        let Some(value) = given.map(str::to_owned).or_else(|| p.default.clone()) else {
            if p.required {
                missing.push(named(p));
            }
            continue;
        };
        check_kind(p, &value)?;
        out.insert(p.name.clone(), value);
    }
    if !missing.is_empty() {
        return Err(Error::invalid_input(format!(
            "Required: {}.",
            missing.join(", ")
        )));
    }
    Ok(out)
}

/// A parameter for a person who types its name (`--param NAME=…`): its label, with its name
/// where that differs ("Service name (service)").
fn named(p: &Parameter) -> String {
    if p.label.eq_ignore_ascii_case(&p.name) {
        p.label.clone()
    } else {
        format!("{} ({})", p.label, p.name)
    }
}

fn check_kind(p: &Parameter, value: &str) -> Result<()> {
    let ok = match p.kind {
        ParamKind::Text => true,
        ParamKind::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
        ParamKind::Boolean => matches!(value, "true" | "false"),
        ParamKind::Json => serde_json::from_str::<serde_json::Value>(value).is_ok(),
    };
    if ok {
        return Ok(());
    }
    let wanted = match p.kind {
        ParamKind::Text => "text",
        ParamKind::Number => "a number",
        ParamKind::Boolean => "true or false",
        ParamKind::Json => "JSON (an object, a list or a value)",
    };
    Err(Error::invalid_input(format!(
        "{} must be {wanted}, not {value:?}.",
        named(p)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, kind: ParamKind, required: bool, default: Option<&str>) -> Parameter {
        Parameter {
            name: name.into(),
            label: name.to_uppercase(),
            kind,
            required,
            default: default.map(str::to_owned),
            help: None,
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_checked_named_and_defaulted() {
        let schema = [
            param("who", ParamKind::Text, true, None),
            param("count", ParamKind::Number, false, Some("1")),
            param("dry", ParamKind::Boolean, false, None),
            param("opts", ParamKind::Json, false, None),
        ];
        let ok = check_values(&schema, &values(&[("who", "ada"), ("opts", "{\"a\":[1]}")]))
            .expect("valid");
        assert_eq!(
            ok,
            values(&[("who", "ada"), ("count", "1"), ("opts", "{\"a\":[1]}")])
        );
        let missing = check_values(&schema, &values(&[("count", "2")])).expect_err("missing");
        assert_eq!(missing.message, "Required: WHO.");
        let blank = check_values(&schema, &values(&[("who", "  ")])).expect_err("blank");
        assert_eq!(blank.message, "Required: WHO.");
        let wrong =
            check_values(&schema, &values(&[("who", "a"), ("count", "many")])).expect_err("number");
        assert!(
            wrong.message.contains("COUNT must be a number"),
            "{}",
            wrong.message
        );
        let wrong =
            check_values(&schema, &values(&[("who", "a"), ("dry", "yes")])).expect_err("bool");
        assert!(wrong.message.contains("true or false"), "{}", wrong.message);
        let wrong =
            check_values(&schema, &values(&[("who", "a"), ("opts", "{")])).expect_err("json");
        assert!(wrong.message.contains("JSON"), "{}", wrong.message);
        let typo = check_values(&schema, &values(&[("woh", "a")])).expect_err("unknown");
        assert!(
            typo.message.contains("\"woh\"") && typo.message.contains("who, count"),
            "{}",
            typo.message
        );
        let none = check_values(&[], &values(&[("x", "1")])).expect_err("none taken");
        assert!(
            none.message.contains("takes no parameters"),
            "{}",
            none.message
        );
    }
}
