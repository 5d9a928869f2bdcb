//! The behaviour suite against the real service, opt-in: ignored unless asked for
//! (`--ignored`), and then it needs `FICHIER_API_TEST_KEY` holding a key (a Premium/Access
//! account you own). It paces itself with the default pacer, works inside a fresh scratch
//! folder, and deletes what it created. CI never touches the network.
//!
//! ```text
//! FICHIER_API_TEST_KEY=$(cat ~/.config/fichier/test-key) cargo test -p fichier-api --test api real:: -- --ignored --nocapture
//! ```

use crate::suite;

use fichier_api::*;

#[tokio::test]
#[ignore = "needs a real 1fichier key: FICHIER_API_TEST_KEY=... cargo test -p fichier-api --test api real:: -- --ignored"]
async fn generic_suite_on_the_real_service() {
    let raw = std::env::var("FICHIER_API_TEST_KEY").expect(
        "the real-service suite needs FICHIER_API_TEST_KEY (a key of a Premium/Access account)",
    );
    let key = ApiKey::parse(&raw).expect("FICHIER_API_TEST_KEY is not a valid key");
    let mut builder = Client::builder().api_key(key);
    if let Ok(url) = std::env::var("FICHIER_API_TEST_URL") {
        builder = builder.api_url(url);
    }
    let c = builder.build().expect("client");

    suite::account(&c).await;
    suite::upload_server(&c).await;
    suite::missing_file(&c).await;
    let s = suite::make_scratch(&c).await;
    // Run everything, then clean up even when a step failed.
    let outcome = tokio::spawn({
        let c = c.clone();
        let folder = s.folder;
        async move {
            let s = suite::Scratch {
                folder,
                dir: tempfile::tempdir().unwrap(),
            };
            let (link, data) = suite::round_trip(&c, &s).await;
            suite::ranged_reads(&c, &link, &data).await;
            suite::folder_lifecycle(&c, &s).await;
            suite::file_mutations(&c, &s).await;
            suite::duplicate_names(&c, &s).await;
            suite::public_share(&c, &s).await;
            suite::remote_jobs_list(&c).await;
        }
    })
    .await;
    suite::cleanup(&c, s.folder).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
