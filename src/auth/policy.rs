//! Policy: which caller may do what, in the check-string language of oslo.policy.
//!
//! Every rule m2 enforces has a built-in default in [`super::defaults`]; a policy file
//! (`[oslo_policy] policy_file`, YAML or JSON, rule name to check string) replaces
//! defaults by name and may add helper rules. The subset of the language understood:
//!
//! - `@` (always), `!` (never), and the empty string (always);
//! - `role:<name>`: the token has the role (case-insensitive);
//! - `rule:<name>`: another rule;
//! - `<credential>:<value>`, e.g. `system_scope:all`, `project_id:%(node.owner)s`:
//!   the caller's credential equals the value, where `%(key)s` is taken from the
//!   target of the check (a target key that is absent or null never matches);
//! - `not`, `and`, `or` (in that order of precedence) and parentheses.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use super::context::AuthContext;
use crate::error::{Error, Result};

/// A parsed check string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// `@` or the empty string.
    Always,
    /// `!`.
    Never,
    /// `role:<name>`.
    Role(String),
    /// `rule:<name>`.
    Rule(String),
    /// `<credential>:<value>`.
    Generic { key: String, value: String },
    /// `not <check>`.
    Not(Box<Check>),
    /// `<check> and <check> ...`.
    And(Vec<Check>),
    /// `<check> or <check> ...`.
    Or(Vec<Check>),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Always => f.write_str("@"),
            Check::Never => f.write_str("!"),
            Check::Role(r) => write!(f, "role:{r}"),
            Check::Rule(r) => write!(f, "rule:{r}"),
            Check::Generic { key, value } => write!(f, "{key}:{value}"),
            Check::Not(c) => write!(f, "not {c}"),
            Check::And(cs) | Check::Or(cs) => {
                let sep = if matches!(self, Check::And(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts: Vec<String> = cs
                    .iter()
                    .map(|c| match c {
                        Check::And(_) | Check::Or(_) => format!("({c})"),
                        _ => c.to_string(),
                    })
                    .collect();
                f.write_str(&parts.join(sep))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Atom(String),
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut word = word;
        while let Some(rest) = word.strip_prefix('(') {
            out.push(Token::Open);
            word = rest;
        }
        let mut closes = 0;
        while let Some(rest) = word.strip_suffix(')') {
            closes += 1;
            word = rest;
        }
        if !word.is_empty() {
            out.push(match word.to_ascii_lowercase().as_str() {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                _ => Token::Atom(word.to_owned()),
            });
        }
        out.extend(std::iter::repeat_n(Token::Close, closes));
    }
    out
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Check, String> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Check::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Check, String> {
        let mut parts = vec![self.not()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Check::And(parts)
        })
    }

    fn not(&mut self) -> Result<Check, String> {
        if self.peek() == Some(&Token::Not) {
            self.pos += 1;
            return Ok(Check::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Check, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a '(' is not closed".to_owned()),
                }
            }
            Some(Token::Atom(a)) => atom(&a),
            Some(Token::Close) => Err("unexpected ')'".to_owned()),
            Some(t) => Err(format!("unexpected {t:?}, expected a check")),
            None => Err("the check string ends where a check is expected".to_owned()),
        }
    }
}

fn atom(a: &str) -> Result<Check, String> {
    match a {
        "@" => return Ok(Check::Always),
        "!" => return Ok(Check::Never),
        _ => {}
    }
    let Some((kind, value)) = a.split_once(':') else {
        return Err(format!(
            "\"{a}\" is not a check (expected kind:value, @ or !)"
        ));
    };
    if kind.is_empty() || value.is_empty() {
        return Err(format!("\"{a}\" is not a check (expected kind:value)"));
    }
    Ok(match kind {
        "role" => Check::Role(value.to_owned()),
        "rule" => Check::Rule(value.to_owned()),
        "http" | "https" => {
            return Err(format!("\"{a}\": remote http checks are not supported"));
        }
        _ => Check::Generic {
            key: kind.to_owned(),
            value: value.to_owned(),
        },
    })
}

/// Parses a check string.
pub fn parse(text: &str) -> Result<Check, String> {
    let tokens = tokenize(text);
    if tokens.is_empty() {
        return Ok(Check::Always);
    }
    let mut p = Parser { tokens, pos: 0 };
    let check = p.or()?;
    match p.peek() {
        None => Ok(check),
        Some(t) => Err(format!("unexpected {t:?} after a complete check")),
    }
}

/// What a check is made on: `node.owner`, `node.lessee`, ... (`%(key)s` in a check
/// string). A key with no value is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target(BTreeMap<String, String>);

impl Target {
    /// An empty target (checks on the caller alone).
    pub fn new() -> Target {
        Target::default()
    }

    /// Sets `key` when `value` is given.
    pub fn with(mut self, key: &str, value: Option<&str>) -> Target {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v.to_owned());
        }
        self
    }

    /// The owner and lessee of a node (`node.owner`, `node.lessee`).
    pub fn node(owner: Option<&str>, lessee: Option<&str>) -> Target {
        Target::new()
            .with("node.owner", owner)
            .with("node.lessee", lessee)
    }

    /// The owner of an allocation (`allocation.owner`).
    pub fn allocation(owner: Option<&str>) -> Target {
        Target::new().with("allocation.owner", owner)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

/// Replaces each `%(key)s` in `template` by the target's value; `None` when a key
/// has none.
fn substitute(template: &str, target: &Target) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("%(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(")s")?;
        out.push_str(target.get(&after[..end])?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// The rules in force: the defaults, with a policy file's replacements.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: HashMap<String, Check>,
    /// `[DEFAULT] rbac_service_project_name`, the target's `config.service_project_name`.
    service_project_name: String,
}

/// Deepest chain of `rule:` references followed before a check fails.
const MAX_DEPTH: usize = 32;

impl Policy {
    /// The built-in defaults.
    pub fn defaults(service_project_name: &str) -> Policy {
        let rules = super::defaults::RULES
            .iter()
            .map(|r| {
                let check = parse(r.check).unwrap_or_else(|e| {
                    // The defaults are tested to parse; this is unreachable in a build
                    // whose tests pass, and denying is the safe answer.
                    tracing::error!(rule = r.name, error = %e, "invalid default policy");
                    Check::Never
                });
                (r.name.to_owned(), check)
            })
            .collect();
        Policy {
            rules,
            service_project_name: service_project_name.to_owned(),
        }
    }

    /// The defaults with the rules of a policy file (YAML or JSON) over them.
    pub fn load(path: &Path, service_project_name: &str) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))?;
        let mut policy = Policy::defaults(service_project_name);
        policy
            .apply_text(&text, path.extension().is_some_and(|e| e == "json"))
            .map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))?;
        Ok(policy)
    }

    /// Applies a policy document (a map of rule name to check string).
    pub fn apply_text(&mut self, text: &str, json: bool) -> Result<(), String> {
        let map: BTreeMap<String, String> = if json {
            serde_json::from_str(text).map_err(|e| e.to_string())?
        } else if text.trim().is_empty() {
            BTreeMap::new()
        } else {
            // YAML also reads a JSON document; an all-comments file is empty.
            let v: Option<BTreeMap<String, String>> =
                serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
            v.unwrap_or_default()
        };
        for (name, text) in map {
            let check = parse(&text).map_err(|e| format!("rule \"{name}\": {e}"))?;
            if !super::defaults::RULES.iter().any(|r| r.name == name) {
                tracing::info!(rule = %name, "policy file adds a rule m2 has no default for");
            }
            self.rules.insert(name, check);
        }
        self.check_references()
    }

    /// Every `rule:` reference names a rule and no rule refers to itself.
    fn check_references(&self) -> Result<(), String> {
        fn walk<'a>(
            policy: &'a Policy,
            check: &'a Check,
            path: &mut Vec<&'a str>,
        ) -> Result<(), String> {
            match check {
                Check::Rule(name) => {
                    if path.contains(&name.as_str()) {
                        return Err(format!(
                            "rule \"{}\" refers to itself through {}",
                            name,
                            path.join(" -> ")
                        ));
                    }
                    match policy.rules.get(name) {
                        Some(inner) => {
                            path.push(name);
                            walk(policy, inner, path)?;
                            path.pop();
                        }
                        None => {
                            tracing::warn!(rule = %name, "policy refers to an undefined rule; it never matches")
                        }
                    }
                    Ok(())
                }
                Check::Not(c) => walk(policy, c, path),
                Check::And(cs) | Check::Or(cs) => cs.iter().try_for_each(|c| walk(policy, c, path)),
                _ => Ok(()),
            }
        }
        for (name, check) in &self.rules {
            walk(self, check, &mut vec![name.as_str()])?;
        }
        Ok(())
    }

    /// The check of a rule in force.
    pub fn rule(&self, name: &str) -> Option<&Check> {
        self.rules.get(name)
    }

    /// Does `rule` allow `ctx` on `target`? An unknown rule allows nothing. noauth
    /// passes every check, as in Ironic.
    pub fn check(&self, rule: &str, ctx: &AuthContext, target: &Target) -> bool {
        ctx.noauth || self.evaluate(rule, ctx, target)
    }

    /// Does `rule` allow `ctx` on `target`, even under noauth or http_basic? For the
    /// rules that reveal secrets (`show_password`, `show_instance_secrets`), which
    /// Ironic evaluates whatever the auth strategy.
    pub fn evaluate(&self, rule: &str, ctx: &AuthContext, target: &Target) -> bool {
        match self.rules.get(rule) {
            Some(Check::Never) => false,
            Some(Check::Always) => true,
            Some(check) => {
                let mut target = target.clone();
                target.0.insert(
                    "config.service_project_name".into(),
                    self.service_project_name.clone(),
                );
                self.eval(check, ctx, &target, 0)
            }
            None => {
                tracing::error!(rule, "policy check of an undefined rule");
                false
            }
        }
    }

    /// [`Policy::check`], with Ironic's 403 when it fails.
    pub fn authorize(&self, rule: &str, ctx: &AuthContext, target: &Target) -> Result<()> {
        if self.check(rule, ctx, target) {
            Ok(())
        } else {
            tracing::info!(rule, caller = %ctx.describe(), "policy refused the request");
            Err(forbidden(rule))
        }
    }

    fn eval(&self, check: &Check, ctx: &AuthContext, target: &Target, depth: usize) -> bool {
        match check {
            Check::Always => true,
            Check::Never => false,
            Check::Role(role) => ctx.has_role(role),
            Check::Rule(name) => {
                depth < MAX_DEPTH
                    && self
                        .rules
                        .get(name)
                        .is_some_and(|c| self.eval(c, ctx, target, depth + 1))
            }
            Check::Generic { key, value } => {
                let Some(expected) = substitute(value, target) else {
                    return false;
                };
                match ctx.credential(key) {
                    Some(actual) => actual == expected,
                    // oslo.policy compares the text "None" with an absent credential;
                    // Ironic's legacy rules use `project_domain_id:None` that way. A
                    // value taken from the target never matches an absent one.
                    None => expected == "None" && !value.contains("%("),
                }
            }
            Check::Not(c) => !self.eval(c, ctx, target, depth),
            Check::And(cs) => cs.iter().all(|c| self.eval(c, ctx, target, depth)),
            Check::Or(cs) => cs.iter().any(|c| self.eval(c, ctx, target, depth)),
        }
    }

    /// The rules in force as a YAML document, sorted by name (`m2 policy-defaults`).
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for r in super::defaults::RULES {
            if let Some(check) = self.rules.get(r.name) {
                out.push_str(&format!("# {}\n", r.description));
                out.push_str(&format!(
                    "{}: {}\n\n",
                    serde_json::Value::String(r.name.to_owned()),
                    serde_json::Value::String(check.to_string())
                ));
            }
        }
        out
    }
}

/// Ironic's 403 for a refused rule.
pub fn forbidden(rule: &str) -> Error {
    Error::Forbidden(format!(
        "Access was denied to the following resource: {rule}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(roles: &[&str], project: Option<&str>, system: bool) -> AuthContext {
        AuthContext {
            user_id: Some("u".into()),
            project_id: project.map(str::to_owned),
            project_name: project.map(|p| format!("{p}-name")),
            system_scope: system.then(|| "all".to_owned()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..AuthContext::default()
        }
    }

    fn policy(rules: &[(&str, &str)]) -> Policy {
        let mut p = Policy {
            rules: HashMap::new(),
            service_project_name: "service".into(),
        };
        for (name, text) in rules {
            p.rules.insert((*name).to_owned(), parse(text).unwrap());
        }
        p.check_references().unwrap();
        p
    }

    #[test]
    fn parses_the_language() {
        assert_eq!(parse("").unwrap(), Check::Always);
        assert_eq!(parse("  ").unwrap(), Check::Always);
        assert_eq!(parse("@").unwrap(), Check::Always);
        assert_eq!(parse("!").unwrap(), Check::Never);
        assert_eq!(parse("role:admin").unwrap(), Check::Role("admin".into()));
        assert_eq!(parse("rule:x:y").unwrap(), Check::Rule("x:y".into()));
        assert_eq!(
            parse("project_id:%(node.owner)s").unwrap(),
            Check::Generic {
                key: "project_id".into(),
                value: "%(node.owner)s".into()
            }
        );
        // `and` binds tighter than `or`; `not` tighter than both.
        assert_eq!(
            parse("role:a or role:b and not role:c").unwrap(),
            Check::Or(vec![
                Check::Role("a".into()),
                Check::And(vec![
                    Check::Role("b".into()),
                    Check::Not(Box::new(Check::Role("c".into())))
                ])
            ])
        );
        assert_eq!(
            parse("((role:a or role:b)) AND role:c").unwrap(),
            Check::And(vec![
                Check::Or(vec![Check::Role("a".into()), Check::Role("b".into())]),
                Check::Role("c".into())
            ])
        );
        for bad in [
            "role:a or",
            "(role:a",
            "role:a)",
            "and role:a",
            "admin",
            "role:",
            ":x",
            "role:a role:b",
            "http://example.com/check",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "role:a or (role:b and not role:c)",
            "(role:admin and system_scope:all) or (role:member and project_id:%(node.owner)s)",
            "@",
            "!",
            "rule:x",
        ] {
            let check = parse(text).unwrap();
            assert_eq!(parse(&check.to_string()).unwrap(), check, "{text}");
        }
    }

    #[test]
    fn evaluates_roles_scopes_and_targets() {
        let p = policy(&[
            ("sys", "role:admin and system_scope:all"),
            ("owner", "role:member and project_id:%(node.owner)s"),
            ("either", "rule:sys or rule:owner"),
            ("not_reader", "not role:reader"),
            ("never", "!"),
            ("always", "@"),
            (
                "svc",
                "role:service and project_name:%(config.service_project_name)s",
            ),
            ("legacy", "project_domain_id:None"),
        ]);
        let node = Target::node(Some("p1"), Some("p2"));
        let sys_admin = ctx(&["admin", "member", "reader"], None, true);
        let proj_admin = ctx(&["Admin", "member"], Some("p1"), false);
        let lessee = ctx(&["member"], Some("p2"), false);
        let stranger = ctx(&["member"], Some("p3"), false);

        assert!(p.check("sys", &sys_admin, &node));
        assert!(
            !p.check("sys", &proj_admin, &node),
            "a project admin is not system"
        );
        assert!(p.check("owner", &proj_admin, &node));
        assert!(!p.check("owner", &lessee, &node));
        assert!(p.check("either", &sys_admin, &node));
        assert!(p.check("either", &proj_admin, &node));
        assert!(!p.check("either", &stranger, &node));
        assert!(p.check("not_reader", &lessee, &node));
        assert!(!p.check("not_reader", &sys_admin, &node));
        assert!(!p.check("never", &sys_admin, &node));
        assert!(p.check("always", &stranger, &node));
        assert!(!p.check("undefined", &sys_admin, &node));
        assert!(p.check("legacy", &stranger, &node));
        // A node without an owner matches nobody's project, not even a missing one.
        let unowned = Target::node(None, None);
        assert!(!p.check("owner", &proj_admin, &unowned));
        assert!(!p.check("owner", &ctx(&["member"], None, true), &unowned));
        // The service project comes from the configuration.
        let svc = AuthContext {
            project_name: Some("service".into()),
            ..ctx(&["service"], Some("s"), false)
        };
        assert!(p.check("svc", &svc, &Target::new()));
        assert!(!p.check("svc", &ctx(&["service"], Some("x"), false), &Target::new()));
        // noauth passes everything, as in Ironic.
        assert!(p.check("never", &AuthContext::noauth(), &node));
    }

    #[test]
    fn authorize_answers_ironics_403() {
        let p = policy(&[("baremetal:node:delete", "role:admin")]);
        let e = p
            .authorize(
                "baremetal:node:delete",
                &ctx(&["member"], Some("p"), false),
                &Target::new(),
            )
            .unwrap_err();
        assert_eq!(e.status(), 403);
        assert_eq!(
            e.to_string(),
            "Access was denied to the following resource: baremetal:node:delete"
        );
    }

    #[test]
    fn cycles_are_refused() {
        let mut p = Policy::defaults("service");
        let err = p
            .apply_text("{\"a\": \"rule:b\", \"b\": \"rule:a or role:x\"}", true)
            .unwrap_err();
        assert!(err.contains("refers to itself"), "{err}");
    }

    #[test]
    fn defaults_parse_and_refer_to_defined_rules() {
        for r in super::super::defaults::RULES {
            parse(r.check).unwrap_or_else(|e| panic!("{}: {e}", r.name));
        }
        let p = Policy::defaults("service");
        p.check_references().unwrap();
        fn refs(c: &Check, out: &mut Vec<String>) {
            match c {
                Check::Rule(n) => out.push(n.clone()),
                Check::Not(c) => refs(c, out),
                Check::And(cs) | Check::Or(cs) => cs.iter().for_each(|c| refs(c, out)),
                _ => {}
            }
        }
        for (name, check) in &p.rules {
            let mut names = Vec::new();
            refs(check, &mut names);
            for n in names {
                assert!(p.rules.contains_key(&n), "{name} refers to undefined {n}");
            }
        }
    }

    #[test]
    fn ironic_personas_on_the_defaults() {
        let p = Policy::defaults("service");
        let node = Target::node(Some("owner-p"), Some("lessee-p"));
        let sys_reader = ctx(&["reader"], None, true);
        let sys_admin = ctx(&["admin", "member", "reader"], None, true);
        let owner_member = ctx(&["member", "reader"], Some("owner-p"), false);
        let owner_reader = ctx(&["reader"], Some("owner-p"), false);
        let lessee_manager = ctx(&["manager", "member", "reader"], Some("lessee-p"), false);
        let lessee_member = ctx(&["member", "reader"], Some("lessee-p"), false);
        let stranger = ctx(&["admin", "member", "reader"], Some("other"), false);

        for c in [
            &sys_reader,
            &sys_admin,
            &owner_member,
            &owner_reader,
            &lessee_member,
        ] {
            assert!(p.check("baremetal:node:get", c, &node), "{}", c.describe());
        }
        assert!(!p.check("baremetal:node:get", &stranger, &node));
        assert!(p.check("baremetal:node:list_all", &sys_reader, &node));
        assert!(!p.check("baremetal:node:list_all", &owner_member, &node));
        assert!(p.check("baremetal:node:list", &owner_reader, &node));

        assert!(p.check("baremetal:node:delete", &sys_admin, &node));
        assert!(!p.check("baremetal:node:delete", &sys_reader, &node));
        assert!(!p.check("baremetal:node:delete", &lessee_manager, &node));
        assert!(!p.check("baremetal:node:delete", &owner_member, &node));

        assert!(p.check("baremetal:node:set_provision_state", &owner_member, &node));
        assert!(p.check("baremetal:node:set_provision_state", &lessee_manager, &node));
        assert!(!p.check("baremetal:node:set_provision_state", &lessee_member, &node));
        assert!(!p.check("baremetal:node:set_provision_state", &owner_reader, &node));
        assert!(p.check("baremetal:node:set_power_state", &lessee_member, &node));
        assert!(!p.check("baremetal:node:update", &owner_reader, &node));
        assert!(p.check("baremetal:node:update", &owner_member, &node));
        assert!(!p.check("baremetal:node:update:owner", &owner_member, &node));

        assert!(p.check("baremetal:chassis:get", &sys_reader, &node));
        assert!(!p.check("baremetal:chassis:get", &owner_member, &node));
        assert!(!p.check("baremetal:driver:get", &stranger, &node));
        assert!(!p.check("baremetal:conductor:get", &owner_member, &node));

        // The service role in the service project manages every node.
        let svc = AuthContext {
            project_name: Some("service".into()),
            ..ctx(&["service"], Some("svc-p"), false)
        };
        assert!(p.check("baremetal:node:get", &svc, &node));
        assert!(p.check("baremetal:node:list_all", &svc, &node));
        assert!(p.check("baremetal:node:set_provision_state", &svc, &node));
    }

    #[test]
    fn policy_files_replace_defaults() {
        let mut p = Policy::defaults("service");
        p.apply_text(
            "# comment\n\"baremetal:node:delete\": \"role:admin\"\nbaremetal:x: 'rule:baremetal:node:delete'\n",
            false,
        )
        .unwrap();
        let proj_admin = ctx(&["admin"], Some("p"), false);
        assert!(p.check("baremetal:node:delete", &proj_admin, &Target::new()));
        assert!(p.check("baremetal:x", &proj_admin, &Target::new()));
        p.apply_text("{\"baremetal:node:delete\": \"!\"}", true)
            .unwrap();
        assert!(!p.check(
            "baremetal:node:delete",
            &ctx(&["admin"], None, true),
            &Target::new()
        ));
        assert!(p.apply_text("# only comments\n", false).is_ok());
        assert!(p.apply_text("\"a\": \"role:\"\n", false).is_err());
        assert!(p.apply_text("[1, 2]", true).is_err());
    }
}
