//! Remote paths as users type them (`/A/./b/..`, `id:123/sub`): the typed [`RemotePath`], its
//! [`Segment`]s, the lexical normalisation every command shares, and [`PathError`]. Pure: no
//! listing, no client ([`crate::RemoteTree`] resolves paths against the account).

use std::fmt;

use crate::{FolderId, ROOT_FOLDER};

/// How a folder is named by id in a path: `id:12345`.
pub const ID_PREFIX: &str = "id:";

/// One step of a remote path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An entry named so in the current folder.
    Name(String),
    /// The folder with this id: the start of the path when first, else a child of the
    /// current folder (how one of two same-named folders is chosen).
    Id(FolderId),
}

impl Segment {
    /// Reads one typed segment: `id:` followed by decimal digits is an id, anything else a
    /// name (taken literally).
    pub fn parse(s: &str) -> Segment {
        match s.strip_prefix(ID_PREFIX) {
            Some(d) if !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) => {
                match d.parse::<FolderId>() {
                    Ok(id) => Segment::Id(id),
                    Err(_) => Segment::Name(s.to_owned()),
                }
            }
            _ => Segment::Name(s.to_owned()),
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Name(n) => f.write_str(n),
            Segment::Id(id) => write!(f, "{ID_PREFIX}{id}"),
        }
    }
}

/// A user path that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// `..` climbs above the root folder.
    #[error("`{path}` goes above the root folder with `..`")]
    AboveRoot {
        /// The path as typed.
        path: String,
    },
    /// `..` climbs above a folder named by id (its parent is not known from the path).
    #[error("`{path}` goes above {ID_PREFIX}{id} with `..`")]
    AboveId {
        /// The path as typed.
        path: String,
        /// The folder named by id.
        id: FolderId,
    },
}

/// A normalised remote path: from the root, or from a folder named by id (`id:N/...`).
///
/// Parsing is lexical and the same for every command: empty segments (repeated or trailing
/// slashes) and `.` are skipped, `..` removes the previous segment and is an error above
/// the start. A leading `/` is optional. `id:0` at the start is the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RemotePath {
    segments: Vec<Segment>,
}

impl RemotePath {
    /// The root folder (`/`).
    pub fn root() -> RemotePath {
        RemotePath::default()
    }

    /// Parses what a user typed.
    pub fn parse(s: &str) -> Result<RemotePath, PathError> {
        let mut segments: Vec<Segment> = Vec::new();
        for part in s.split('/') {
            match part {
                "" | "." => {}
                ".." => match segments.last() {
                    None => {
                        return Err(PathError::AboveRoot { path: s.to_owned() });
                    }
                    Some(Segment::Id(id)) if segments.len() == 1 => {
                        return Err(PathError::AboveId {
                            path: s.to_owned(),
                            id: *id,
                        });
                    }
                    Some(_) => {
                        segments.pop();
                    }
                },
                other => {
                    let seg = Segment::parse(other);
                    if segments.is_empty() && seg == Segment::Id(ROOT_FOLDER) {
                        continue;
                    }
                    segments.push(seg);
                }
            }
        }
        Ok(RemotePath { segments })
    }

    /// A path of literal names from the root (no parsing: `..` or `id:1` stay names).
    pub fn from_names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> RemotePath {
        RemotePath {
            segments: names.into_iter().map(|n| Segment::Name(n.into())).collect(),
        }
    }

    /// The folder with this id (`id:N`; the root for 0).
    pub fn folder_id(id: FolderId) -> RemotePath {
        RemotePath::root().join_id(id)
    }

    /// Its segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The last segment, if any.
    pub fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }

    /// The last segment's name, when it is a name.
    pub fn last_name(&self) -> Option<&str> {
        match self.segments.last() {
            Some(Segment::Name(n)) => Some(n),
            _ => None,
        }
    }

    /// The path without its last segment; `None` for the root and for a lone `id:N`.
    pub fn parent(&self) -> Option<RemotePath> {
        match self.segments.as_slice() {
            [] | [Segment::Id(_)] => None,
            [rest @ .., _] => Some(RemotePath {
                segments: rest.to_vec(),
            }),
        }
    }

    /// This path and one more name (taken literally).
    pub fn join(&self, name: impl Into<String>) -> RemotePath {
        let mut p = self.clone();
        p.segments.push(Segment::Name(name.into()));
        p
    }

    /// This path and one more folder named by id.
    pub fn join_id(&self, id: FolderId) -> RemotePath {
        let mut p = self.clone();
        if !(p.segments.is_empty() && id == ROOT_FOLDER) {
            p.segments.push(Segment::Id(id));
        }
        p
    }

    /// The segments as displayed (`id:N` for ids).
    pub fn components(&self) -> Vec<String> {
        self.segments.iter().map(ToString::to_string).collect()
    }

    pub(crate) fn prefix(&self, len: usize) -> RemotePath {
        RemotePath {
            segments: self.segments[..len].to_vec(),
        }
    }
}

impl fmt::Display for RemotePath {
    /// `/A/b` from the root, `id:5/b` from a folder named by id, `/` for the root. Parsing
    /// the result gives the same path back (when no name contains `/` or is `.`, `..`, `id:N`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 || matches!(s, Segment::Name(_)) {
                f.write_str("/")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for RemotePath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<RemotePath, PathError> {
        RemotePath::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> RemotePath {
        RemotePath::parse(s).unwrap()
    }

    #[test]
    fn parsing_skips_dots_and_empty_segments() {
        assert_eq!(p("/"), RemotePath::root());
        assert_eq!(p(""), RemotePath::root());
        assert_eq!(
            p("Backups//2026/./x/.."),
            RemotePath::from_names(["Backups", "2026"])
        );
        assert_eq!(p("/a/b/"), RemotePath::from_names(["a", "b"]));
        assert_eq!(p("a/b"), p("/a/b"));
        assert_eq!(p("/a/b").to_string(), "/a/b");
        assert_eq!(p("/").to_string(), "/");
    }

    #[test]
    fn dot_dot_above_the_root_is_an_error() {
        assert!(matches!(
            RemotePath::parse("/.."),
            Err(PathError::AboveRoot { .. })
        ));
        assert!(matches!(
            RemotePath::parse("/a/../../b"),
            Err(PathError::AboveRoot { .. })
        ));
        assert!(matches!(
            RemotePath::parse("id:7/.."),
            Err(PathError::AboveId { id: 7, .. })
        ));
        assert_eq!(p("/a/id:7/.."), RemotePath::from_names(["a"]));
    }

    #[test]
    fn id_segments() {
        let x = p("id:12345/sub/file");
        assert_eq!(
            x.segments(),
            &[
                Segment::Id(12345),
                Segment::Name("sub".into()),
                Segment::Name("file".into())
            ]
        );
        assert_eq!(x.to_string(), "id:12345/sub/file");
        assert_eq!(p("/id:12345").to_string(), "id:12345");
        assert_eq!(p("/A/id:9").to_string(), "/A/id:9");
        assert_eq!(p("id:0"), RemotePath::root());
        // Not an id: kept as a name.
        assert_eq!(p("id:").segments(), &[Segment::Name("id:".into())]);
        assert_eq!(p("id:12a").segments(), &[Segment::Name("id:12a".into())]);
        assert_eq!(
            p("id:99999999999999999999999").segments(),
            &[Segment::Name("id:99999999999999999999999".into())]
        );
        assert_eq!(p("/A/id:9").parent(), Some(p("/A")));
        assert_eq!(p("id:9").parent(), None);
        assert_eq!(p("/A/b").last_name(), Some("b"));
    }

    /// A segment a user could type, biased towards the interesting ones.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            (0u64..1000).prop_map(|n| format!("id:{n}")),
            "[a-zA-Z0-9 ._:-]{1,8}",
            "\\PC{0,6}",
        ]
    }

    fn typed_path() -> impl Strategy<Value = String> {
        (any::<bool>(), prop::collection::vec(segment(), 0..8)).prop_map(|(lead, segs)| {
            let body = segs.join("/");
            if lead { format!("/{body}") } else { body }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = RemotePath::parse(&s);
        }

        #[test]
        fn normalisation_is_idempotent(s in typed_path()) {
            if let Ok(once) = RemotePath::parse(&s) {
                let twice = RemotePath::parse(&once.to_string()).expect("a displayed path parses");
                prop_assert_eq!(&twice, &once);
                prop_assert_eq!(twice.to_string(), once.to_string());
            }
        }

        #[test]
        fn no_dot_segments_survive(s in typed_path()) {
            if let Ok(path) = RemotePath::parse(&s) {
                for seg in path.segments() {
                    if let Segment::Name(n) = seg {
                        prop_assert!(!n.is_empty() && n != "." && n != ".." && !n.contains('/'));
                    }
                }
            }
        }

        #[test]
        fn dot_dot_is_lexical(segs in prop::collection::vec("[a-z]{1,4}", 1..6), extra in 0usize..8) {
            let base = format!("/{}", segs.join("/"));
            let ups = vec![".."; extra].join("/");
            let typed = format!("{base}/{ups}");
            match RemotePath::parse(&typed) {
                Ok(path) => {
                    prop_assert!(extra <= segs.len());
                    prop_assert_eq!(path, RemotePath::from_names(segs[..segs.len() - extra].to_vec()));
                }
                Err(PathError::AboveRoot { .. }) => prop_assert!(extra > segs.len()),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }
    }
}
