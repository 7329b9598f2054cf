//! A disk that can be made to fail, for tests of what the stores do when writes fail (feature
//! `faults`): the seam is redb's storage backend, so everything above it is the real code.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use rapport_store::{RelayStore, faults::FaultyDisk};
//! let dir = tempfile::tempdir()?;
//! let disk = FaultyDisk::new();
//! let store = RelayStore::open_on(dir.path(), &disk)?;
//! disk.fill(); // from now on every write fails with "no space left on device"
//! # drop(store);
//! # Ok(())
//! # }
//! ```

use std::fs::File;
use std::io;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// A switch shared by every file opened on it: while full, writes, growing the file and
/// syncing fail as a full disk fails them; reads go on.
#[derive(Clone, Debug, Default)]
pub struct FaultyDisk {
    full: Arc<AtomicBool>,
    refused: Arc<AtomicU64>,
}

impl FaultyDisk {
    /// A disk with room.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every write fail from now on.
    pub fn fill(&self) {
        self.full.store(true, Ordering::SeqCst);
    }

    /// Makes room again.
    pub fn free(&self) {
        self.full.store(false, Ordering::SeqCst);
    }

    /// How many writes (or syncs) it has refused so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    pub(crate) fn backend(&self, file: File) -> Result<FaultyBackend, redb::DatabaseError> {
        Ok(FaultyBackend {
            file: FileBackend::new(file)?,
            disk: self.clone(),
        })
    }

    fn check(&self) -> io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        Ok(())
    }
}

/// redb's own file backend, behind the switch.
#[derive(Debug)]
pub(crate) struct FaultyBackend {
    file: FileBackend,
    disk: FaultyDisk,
}

impl StorageBackend for FaultyBackend {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        if len > self.file.len()? {
            self.disk.check()?;
        }
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.disk.check()?;
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.disk.check()?;
        self.file.write(offset, data)
    }

    fn close(&self) -> io::Result<()> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}
