//! The detection rules and confidence levels: stable ids, names and descriptions.
//!
//! Rule ids are part of the output contract (text, JSON, SARIF, baselines): never rename one.

use serde::{Deserialize, Serialize};

/// How sure the scanner is that a finding is a real 1fichier API key.
///
/// Ordered: `Low < Medium < High`, so callers can filter with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Key-shaped value with weak context (or any context in strict mode).
    Low,
    /// Key-shaped value with a secret-like name and 1fichier mentioned nearby.
    Medium,
    /// Key-shaped value explicitly tied to 1fichier (variable name, rclone remote, Bearer call).
    High,
}

impl Confidence {
    /// Lower-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// Numeric rank (3 = high) for sorting and for SARIF `rank`-style properties.
    pub fn rank(self) -> u8 {
        match self {
            Confidence::Low => 1,
            Confidence::Medium => 2,
            Confidence::High => 3,
        }
    }
}

impl std::fmt::Display for Confidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detection rule. See `docs/scan.md` for the full table.
///
/// Every output names a rule by [`RuleId::id`], serde included (its derive would spell
/// `Bearer1fichier` as `bearer1fichier`, which `--json` once did).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleId {
    /// The value is assigned to a name containing `fichier` (`FICHIER_API_KEY`, `RCLONE_FICHIER_API_KEY`, `--fichier-api-key`).
    FichierNamedKey,
    /// `api_key` inside an rclone remote whose `type = fichier`.
    RcloneFichierRemote,
    /// The value sits in a section or mapping named after 1fichier (`[1fichier]`, `OneFichierCom:`, `"1fichier": {`).
    FichierSection,
    /// `Bearer <key>` with 1fichier (usually `api.1fichier.com`) mentioned in the same file.
    Bearer1fichier,
    /// A secret-like name (`api_key`, `token`, `password`...) with 1fichier mentioned in the same scope.
    KeywordNear1fichier,
    /// A bare key-shaped value on or right next to a line mentioning 1fichier.
    KeyNear1fichier,
    /// A secret-like name in a file whose path names fichier (e.g. `~/.config/fichier/...`).
    FichierConfigPath,
    /// Strict mode only: a secret-like name or `Bearer` with no 1fichier context.
    GenericKeyAssignment,
    /// Strict mode only: a random 32-character string with no context at all.
    BareKeyShape,
}

impl RuleId {
    /// Every rule, in documentation order.
    pub const ALL: [RuleId; 9] = [
        RuleId::FichierNamedKey,
        RuleId::RcloneFichierRemote,
        RuleId::FichierSection,
        RuleId::Bearer1fichier,
        RuleId::KeywordNear1fichier,
        RuleId::KeyNear1fichier,
        RuleId::FichierConfigPath,
        RuleId::GenericKeyAssignment,
        RuleId::BareKeyShape,
    ];

    /// The stable id (`fichier-named-key`, `bearer-1fichier`, ...): the one spelling of the
    /// rule in text, JSON, SARIF, baselines and docs.
    pub fn id(self) -> &'static str {
        match self {
            RuleId::FichierNamedKey => "fichier-named-key",
            RuleId::RcloneFichierRemote => "rclone-fichier-remote",
            RuleId::FichierSection => "fichier-section",
            RuleId::Bearer1fichier => "bearer-1fichier",
            RuleId::KeywordNear1fichier => "keyword-near-1fichier",
            RuleId::KeyNear1fichier => "key-near-1fichier",
            RuleId::FichierConfigPath => "fichier-config-path",
            RuleId::GenericKeyAssignment => "generic-key-assignment",
            RuleId::BareKeyShape => "bare-key-shape",
        }
    }

    /// Parses an id back into a rule; also reads the spellings older `--json` output used.
    pub fn from_id(id: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.id() == id).or_else(|| {
            LEGACY_IDS
                .iter()
                .find(|(old, _)| *old == id)
                .map(|&(_, r)| r)
        })
    }

    /// True for rules that only run with `strict` enabled.
    pub fn strict_only(self) -> bool {
        matches!(self, RuleId::GenericKeyAssignment | RuleId::BareKeyShape)
    }

    /// One-line description, used as SARIF `shortDescription` and in docs.
    pub fn description(self) -> &'static str {
        match self {
            RuleId::FichierNamedKey => {
                "1fichier API key assigned to a name that mentions fichier (FICHIER_API_KEY, RCLONE_FICHIER_API_KEY, --fichier-api-key)"
            }
            RuleId::RcloneFichierRemote => {
                "1fichier API key in an rclone remote (`type = fichier`, `api_key = ...`)"
            }
            RuleId::FichierSection => {
                "Key-shaped secret inside a config section or mapping named after 1fichier (JDownloader, pyLoad, Synology style)"
            }
            RuleId::Bearer1fichier => {
                "Bearer token sent to the 1fichier API (`Authorization: Bearer ...` near api.1fichier.com)"
            }
            RuleId::KeywordNear1fichier => {
                "Key-shaped value named api_key/token/password with 1fichier mentioned nearby"
            }
            RuleId::KeyNear1fichier => {
                "Random 32-character value on a line next to a 1fichier mention"
            }
            RuleId::FichierConfigPath => {
                "Key-shaped secret in a file whose path names fichier (a fichier config or credentials file)"
            }
            RuleId::GenericKeyAssignment => {
                "Strict mode: key-shaped value named like a secret, with no 1fichier context"
            }
            RuleId::BareKeyShape => "Strict mode: random 32-character string with no context",
        }
    }
}

/// What serde's kebab-case made of three ids in `--json` output before they were unified:
/// accepted on read, never written.
const LEGACY_IDS: [(&str, RuleId); 3] = [
    ("bearer1fichier", RuleId::Bearer1fichier),
    ("keyword-near1fichier", RuleId::KeywordNear1fichier),
    ("key-near1fichier", RuleId::KeyNear1fichier),
];

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RuleId, D::Error> {
        let id = std::borrow::Cow::<str>::deserialize(deserializer)?;
        RuleId::from_id(&id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule id `{id}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_round_trips_through_serde_and_legacy_spellings_still_read() {
        for rule in RuleId::ALL {
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.id()));
            assert_eq!(serde_json::from_str::<RuleId>(&json).unwrap(), rule);
            assert_eq!(RuleId::from_id(rule.id()), Some(rule));
            assert_eq!(rule.to_string(), rule.id());
        }
        for (old, rule) in LEGACY_IDS {
            assert_eq!(
                serde_json::from_str::<RuleId>(&format!("\"{old}\"")).unwrap(),
                rule
            );
            assert_ne!(rule.id(), old);
        }
        let err = serde_json::from_str::<RuleId>("\"no-such-rule\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown rule id `no-such-rule`"),
            "{err}"
        );
    }
}
