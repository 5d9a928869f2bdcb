//! One item's work: claimed, resolved to a file (or, for a shared folder, replaced by its
//! files), its local target guarded against a second worker, downloaded through the engine.

use super::*;
use crate::intake;

impl Runner {
    /// Works one claimed item to its next state.
    pub(super) async fn work(self, item: Item) {
        let inner = &self.inner;
        let runner = inner.cfg.runner_id.clone();
        let id = item.id;
        if is_folder_link(&item.source) {
            // Queued by a way in that does not list folders (dashboard, Click'n'Load, a
            // `.crawljob`): the same rule as `queue add`, applied now.
            let outcome = match self.expand_folder(&item).await {
                Ok(()) => return,
                Err(e) => Outcome::Finished(Err(e)),
            };
            if let Err(e) = self.conclude(&item, &runner, outcome).await {
                tracing::warn!("queue item {id}: cannot record its state: {e}");
            }
            return;
        }
        let mut ctl = inner.ctl.subscribe();
        // A pause already under way (another worker hit it) stops this one at once.
        let seen_epoch = inner.pause_epoch.load(Ordering::SeqCst);
        let progress = Arc::new(ItemProgress::new(inner.events.clone(), item.size));
        let outcome = {
            let download = self.download(&item, progress.clone());
            let ticker = self.ticker(&item, progress.clone());
            tokio::pin!(download);
            tokio::pin!(ticker);
            let stop = async {
                loop {
                    match ctl.borrow_and_update().clone() {
                        Ctl::Shutdown => return Outcome::Shutdown,
                        Ctl::Pause(e) if e > seen_epoch => return Outcome::Paused,
                        _ => {}
                    }
                    if ctl.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                r = &mut download => Outcome::Finished(r),
                () = &mut ticker => Outcome::Lost,
                o = stop => o,
            }
        };
        let name = item.name.clone().unwrap_or_else(|| item.source.clone());
        let result = self.conclude(&item, &runner, outcome).await;
        if let Err(e) = result {
            tracing::warn!("queue item {id} ({name}): cannot record its state: {e}");
        }
    }

    /// Resolves an item to a file, then downloads it.
    pub(super) async fn download(
        &self,
        item: &Item,
        progress: Arc<ItemProgress>,
    ) -> Result<(PathBuf, u64, Option<String>), TransferError> {
        let inner = &self.inner;
        let store_err = |e: QueueError| TransferError::new(ErrorClass::Local, e.to_string());
        let id = item.id;
        let password = self.password(id).await?.map(Password::new);
        let (link, name, size, whirlpool) = self.resolve(item, password.as_ref()).await?;
        if item.name.as_deref() != Some(name.as_str())
            || item.size != Some(size)
            || (item.whirlpool.is_none() && whirlpool.is_some())
        {
            let (n, w) = (name.clone(), whirlpool.clone());
            self.blocking(move |r| {
                r.inner
                    .store
                    .set_learned(id, Some(&n), Some(size), w.as_deref())
            })
            .await
            .map_err(store_err)?;
        }
        progress.size.store(size, Ordering::Relaxed);
        let local = safe_local_name(&name);
        let dest =
            join_inside(&item.target_dir, std::slice::from_ref(&local)).ok_or_else(|| {
                TransferError::new(
                    ErrorClass::Permanent,
                    format!("unusable file name {name:?}"),
                )
            })?;
        let _guard = TargetGuard::take(&inner.targets, &dest).ok_or_else(|| {
            TransferError::new(
                ErrorClass::Local,
                format!(
                    "another process is downloading into {} (another item of the queue has the same name)",
                    dest.display()
                ),
            )
            .problem(fichier_transfer::Problem::PartBusy { path: dest.clone() })
        })?;
        if !self
            .blocking(move |r| {
                r.inner.store.set_state(
                    id,
                    &r.inner.cfg.runner_id,
                    State::Downloading,
                    None,
                    None,
                    false,
                )
            })
            .await
            .map_err(store_err)?
        {
            return Err(TransferError::new(
                ErrorClass::Local,
                "the item was taken away",
            ));
        }
        let job = FileJob {
            id: item.id as FileId,
            display: name.clone(),
            link,
            password,
            size,
            checksum: whirlpool.clone(),
            dest: dest.clone(),
            root: item.target_dir.clone(),
        };
        let opts = FetchOpts {
            segments: inner.cfg.segments,
            verify: inner.cfg.verify,
            overwrite: false,
            token_max_age: inner.cfg.token_max_age,
        };
        inner.events.event(Event::Queued {
            id: job.id,
            name: name.clone(),
            size: Some(size),
        });
        let sink: Arc<dyn EventSink> = progress.clone();
        match inner.engine.fetch_file(&job, &opts, sink).await? {
            Fetched::Done { whirlpool: got } => Ok((dest, size, got.or(whirlpool))),
            // The same file is already there (e.g. renamed into place just before a kill).
            Fetched::Skipped(_) => Ok((dest, size, whirlpool)),
        }
    }

    /// The item's download password, kept in the store apart from the item's row.
    async fn password(&self, id: ItemId) -> Result<Option<String>, TransferError> {
        self.blocking(move |r| r.inner.store.password(id))
            .await
            .map_err(|e| TransferError::new(ErrorClass::Local, e.to_string()))
    }

    /// Replaces a shared-folder item with the items of its files (one transaction), by the
    /// one rule of [`crate::intake`].
    async fn expand_folder(&self, item: &Item) -> Result<(), TransferError> {
        let inner = &self.inner;
        let store_err = |e: QueueError| TransferError::new(ErrorClass::Local, e.to_string());
        let id = item.id;
        let password = self.password(id).await?;
        let template = intake::template_of(item, password.clone());
        let files = intake::shared_folder_items(
            inner.engine.client(),
            &item.source,
            password.map(Password::new).as_ref(),
            &template,
        )
        .await?;
        if files.is_empty() {
            return Err(TransferError::new(
                ErrorClass::Permanent,
                format!("{}: the shared folder has no files", item.source),
            ));
        }
        self.blocking(move |r| r.inner.store.replace(id, files))
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// The link, name, size and whirlpool of an item: known from the add, or asked once
    /// (`file/info` for a link, the listing of its folder for an own path).
    async fn resolve(
        &self,
        item: &Item,
        password: Option<&Password>,
    ) -> Result<(FileLink, String, u64, Option<String>), TransferError> {
        let engine = &self.inner.engine;
        let src = item.source.trim();
        if src.starts_with('/') || src.starts_with("id:") {
            let path = RemotePath::parse(src)
                .map_err(|e| TransferError::new(ErrorClass::Permanent, format!("{src:?}: {e}")))?;
            // The engine's listing memo lives as long as the engine, days for a daemon: a path
            // is resolved from the shared listings (fresh within the API's window), not from it.
            engine.tree().forget_all();
            return match engine.tree().resolve(&path, Expect::File).await? {
                Node::File { entry, .. } => Ok((
                    entry.link.clone(),
                    entry.filename.clone(),
                    entry.size,
                    entry.checksum.clone(),
                )),
                _ => Err(TransferError::new(
                    ErrorClass::Permanent,
                    format!("{src} is not a file"),
                )),
            };
        }
        let link = FileLink::parse(src)
            .map_err(|e| TransferError::new(ErrorClass::Permanent, e.to_string()))?;
        if let (Some(name), Some(size)) = (&item.name, item.size) {
            return Ok((link, name.clone(), size, item.whirlpool.clone()));
        }
        let info = engine.client().file_info(&link, password).await?;
        // A name the item already has was given when it was added (a crawljob's `filename`)
        // or learned before: either way it names the local file, not the remote one.
        let name = item.name.clone().unwrap_or(info.filename);
        Ok((link, name, info.size, info.checksum))
    }
}

/// Claims a local target (and its `.part`, `.part.state`) for one worker of this runner.
struct TargetGuard<'a> {
    set: &'a Mutex<HashSet<PathBuf>>,
    paths: [PathBuf; 3],
}

impl<'a> TargetGuard<'a> {
    fn take(set: &'a Mutex<HashSet<PathBuf>>, dest: &Path) -> Option<TargetGuard<'a>> {
        let part = part_path(dest);
        let paths = [dest.to_path_buf(), state_path(&part), part];
        let mut s = set.lock().unwrap_or_else(|p| p.into_inner());
        if paths.iter().any(|p| s.contains(p)) {
            return None;
        }
        for p in &paths {
            s.insert(p.clone());
        }
        Some(TargetGuard { set, paths })
    }
}

impl Drop for TargetGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.set.lock().unwrap_or_else(|p| p.into_inner());
        for p in &self.paths {
            s.remove(p);
        }
    }
}
