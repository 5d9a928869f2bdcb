//! Integration tests of `fichier-scan`, as one test binary (one link, one run): the corpus,
//! git inputs, outputs and baselines, robustness on arbitrary bytes, and directory walks.

mod common;

mod corpus;
mod fix;
mod git;
mod output;
mod robustness;
mod walk;
