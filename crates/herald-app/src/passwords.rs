//! Password hashing: argon2id with OWASP's parameters (m=19 MiB, t=2,
//! p=1), on a fixed set of threads — one per core — each computing one
//! hash at a time in memory of its own, reused while a burst lasts.
//!
//! Each hash takes 19 MiB by design. Computed on tokio's blocking pool, a
//! burst of sign-ins spread them over dozens of threads and their malloc
//! arenas, which kept the memory (64 wrong passwords at once took RSS to
//! 1.3 GB). Here the memory is at most one buffer per core, allocated once
//! per burst and given back when the burst is over.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, TryLockError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use herald_core::account::Password;

use crate::error::{AppError, AppResult};

/// The most memory a stored hash may ask for: imported hashes may carry
/// other parameters, but none may make a sign-in allocate without bound.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

enum Job {
    Hash { password: Password, reply: tokio::sync::oneshot::Sender<Result<String, String>> },
    Verify { password: String, hash: String, reply: tokio::sync::oneshot::Sender<bool> },
}

fn threads() -> &'static mpsc::Sender<Job> {
    static JOBS: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        for n in 0..cores {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new().name(format!("herald-argon2-{n}")).spawn(move || work(&queue));
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password-hashing thread");
            }
        }
        jobs
    })
}

/// Bytes of hashing memory the threads hold now.
static HELD_BYTES: AtomicUsize = AtomicUsize::new(0);

/// One hashing thread: takes jobs until the sender is gone. Its memory is
/// kept while a burst lasts and given back whenever it has to wait — for
/// a job, or for the queue while another idle thread waits on it — so an
/// idle Herald holds none.
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        let queue = match queue.try_lock() {
            Ok(queue) => Ok(queue),
            Err(TryLockError::WouldBlock) => {
                memory.release();
                queue.lock().map_err(|_| ())
            }
            Err(TryLockError::Poisoned(_)) => Err(()),
        };
        let next = queue.and_then(|queue| match queue.try_recv() {
            Ok(job) => Ok(job),
            Err(mpsc::TryRecvError::Empty) => {
                memory.release();
                queue.recv().map_err(|_| ())
            }
            Err(mpsc::TryRecvError::Disconnected) => Err(()),
        });
        match next {
            Ok(Job::Hash { password, reply }) => {
                let _ = reply.send(hash_with(&mut memory, password.expose().as_bytes()));
            }
            Ok(Job::Verify { password, hash, reply }) => {
                let _ = reply.send(verify_with(&mut memory, password.as_bytes(), &hash));
            }
            Err(()) => return,
        }
    }
}

/// A thread's argon2 blocks, counted in [`HELD_BYTES`].
#[derive(Default)]
struct Memory(Vec<Block>);

impl Memory {
    /// The first `blocks` blocks, grown to that many if needed.
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            HELD_BYTES.fetch_add((blocks - self.0.len()) * size_of::<Block>(), Ordering::Relaxed);
            self.0.resize(blocks, Block::default());
        }
        &mut self.0[..blocks]
    }

    fn release(&mut self) {
        HELD_BYTES.fetch_sub(self.0.len() * size_of::<Block>(), Ordering::Relaxed);
        self.0 = Vec::new();
    }
}

fn stopped() -> AppError {
    AppError::Internal("the password-hashing threads stopped".into())
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of a new password.
pub async fn hash_password(password: Password) -> AppResult<String> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    threads().send(Job::Hash { password, reply }).map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?.map_err(|e| AppError::Internal(e.into()))
}

/// Whether `password` matches the stored PHC string.
pub async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    threads().send(Job::Verify { password, hash, reply }).map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())
}

/// Runs argon2 in the thread's memory, grown to what `argon` needs.
fn compute(memory: &mut Memory, argon: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let blocks = memory.blocks(argon.params().block_count());
    argon.hash_password_into_with_memory(password, salt, out, blocks).is_ok()
}

fn hash_with(memory: &mut Memory, password: &[u8]) -> Result<String, String> {
    let argon = Argon2::default();
    let salt_bytes: [u8; SALT_LEN] = rand::random();
    let salt = Salt::new(&salt_bytes).map_err(|e| e.to_string())?;
    let mut out = [0u8; OUTPUT_LEN];
    if !compute(memory, &argon, password, &salt, &mut out) {
        return Err("argon2 refused the password".into());
    }
    let hash = PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| e.to_string())?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

fn verify_with(memory: &mut Memory, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let version = match hash.version.map(Version::try_from) {
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
        None => Version::default(),
    };
    let Ok(params) = Params::try_from(&hash) else { return false };
    if params.m_cost() > MAX_MEMORY_KIB {
        tracing::warn!(m_cost = params.m_cost(), "a stored password hash asks for too much memory; refused");
        return false;
    }
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    // `Output` compares in constant time.
    compute(memory, &argon, password, salt, &mut out) && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_verify_both_ways_with_the_reference_implementation() {
        let password = "correct horse battery staple";
        let ours = hash_password(Password::parse(password).unwrap()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(verify_password(password.into(), ours.clone()).await.unwrap());
        assert!(!verify_password("wrong horse battery staple".into(), ours.clone()).await.unwrap());
        // The crate's own verifier accepts ours, and ours accepts the crate's.
        assert!(Argon2::default().verify_password(password.as_bytes(), ours.as_str()).is_ok());
        let theirs =
            PasswordHasher::<PasswordHash>::hash_password(&Argon2::default(), password.as_bytes()).unwrap().to_string();
        assert!(verify_password(password.into(), theirs).await.unwrap());
        // Other parameters (an import) verify too; absurd ones are refused.
        let light = Argon2::new(Algorithm::Argon2i, Version::V0x10, Params::new(1024, 1, 1, Some(16)).unwrap());
        let imported = PasswordHasher::<PasswordHash>::hash_password(&light, password.as_bytes()).unwrap().to_string();
        assert!(verify_password(password.into(), imported).await.unwrap());
        let greedy = ours.replace("m=19456", "m=4000000");
        assert!(!verify_password(password.into(), greedy).await.unwrap());
        assert!(!verify_password(password.into(), "$2b$12$notargon".into()).await.unwrap());
    }

    #[tokio::test]
    async fn the_memory_goes_back_once_the_hashing_is_done() {
        // Jobs one after another: a finished thread must not keep its 19 MiB
        // while it waits for the queue another idle thread is waiting on.
        for _ in 0..3 {
            hash_password(Password::parse("correct horse battery staple").unwrap()).await.unwrap();
        }
        let mut held = HELD_BYTES.load(Ordering::Relaxed);
        for _ in 0..100 {
            if held == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            held = HELD_BYTES.load(Ordering::Relaxed);
        }
        assert_eq!(held, 0, "bytes of hashing memory still held");
    }
}
