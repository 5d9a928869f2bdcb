//! Compile-time check: every client future is `Send`, so callers can spawn them on tokio.

use std::sync::Arc;

use fichier_api::*;

fn assert_send<T: Send>(_: T) {}

#[allow(dead_code)]
fn all_client_futures_are_send(c: &Client, l: &FileLink, t: &DownloadToken, s: &UploadServer) {
    assert_send(c.user_info());
    assert_send(c.user_settings_set(&UserSettings::default()));
    assert_send(c.download_token(&DownloadTokenRequest::new(l.clone(), None)));
    assert_send(c.file_ls(0));
    assert_send(c.file_ls_with(&FileLsRequest::all_files()));
    assert_send(c.file_info(l, None));
    assert_send(c.file_scan(l));
    assert_send(c.file_rm(&FileRmRequest::new([l.clone()])));
    assert_send(c.file_mv(&FileMvRequest::new([l.clone()], 1)));
    assert_send(c.file_cp(&FileCpRequest::new([l.clone()], 1)));
    assert_send(c.file_rename(&FileRenameRequest::one(l.clone(), "x")));
    assert_send(c.file_chattr(&FileChattrRequest::new([l.clone()])));
    assert_send(c.folder_ls(&FolderLsRequest::new(0)));
    assert_send(c.folder_mkdir(&FolderMkdirRequest::new("x", 0)));
    assert_send(c.folder_mv(&FolderMvRequest::rename(1, "x")));
    assert_send(c.folder_rm(1));
    assert_send(c.folder_share(&FolderShareRequest::new(1)));
    assert_send(c.shared_folder_ls("abc", None));
    assert_send(c.remote_ls());
    assert_send(c.remote_info(1));
    assert_send(c.remote_request(&RemoteRequest::new(["https://example.com/".to_owned()], 0)));
    assert_send(c.upload_server());
    assert_send(c.ftp_process());
    assert_send(c.ftp_users_ls());
    assert_send(c.ftp_users_add(&FtpUserAddRequest::new("u", Password::new("p"), None)));
    assert_send(c.ftp_users_rm("u"));
    assert_send(c.vouchers_ls());
    assert_send(c.vouchers_check("v"));
    assert_send(c.vouchers_use("v", "e"));
    assert_send(c.upload_report(s));
    assert_send(c.note_uploaded(0, &[]));
    assert_send(c.range_get(t, 0, None));
    assert_send(c.upload_to_node(
        &NodeFields::new(0),
        &[],
        Arc::new(NoProgress) as Arc<dyn PartObserver>,
    ));
}

#[test]
fn client_futures_are_send() {
    // The check is the compilation of the function above.
}
