//! Files no rewriter edits (JSON, Dockerfiles, fichier's own key store, anything else): one
//! line of advice for each.

use std::path::Path;

pub(super) fn advice(path: &Path, text: &str) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let unixy = path.to_string_lossy().replace('\\', "/");
    if name == "credentials.toml" && unixy.contains("fichier/") {
        return "this is fichier's own key store: keep it mode 0600 and out of any repository or \
                backup that others can read"
            .to_owned();
    }
    if name == "dockerfile" || name.ends_with(".dockerfile") {
        return "a key in an ENV or ARG line stays in the image: remove it and pass it at run \
                time, `fichier exec -- docker run -e FICHIER_API_KEY IMAGE`"
            .to_owned();
    }
    if name.ends_with(".json") || text.trim_start().starts_with('{') {
        return "JSON cannot read the environment: remove the key and let the program read \
                FICHIER_API_KEY (run it under `fichier exec`), or store it with the program's \
                own secret store"
            .to_owned();
    }
    "no automatic fix for this file type: replace the key with a read of the FICHIER_API_KEY \
     environment variable and run the program under `fichier exec`"
        .to_owned()
}
