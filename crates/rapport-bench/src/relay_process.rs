//! The relay in a process of its own, so that its memory can be read apart from the clients':
//! this binary re-executed as `rapport-bench relay-process --data DIR`. It prints
//! `listening on ws://ADDRESS` once serving, and stops when its stdin closes (the harness
//! holds it open for as long as it wants the relay).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use rapport_relay::{Relay, RelayConfig};

/// How long a relay may take to open its store and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a relay may take to stop once asked.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const BANNER: &str = "listening on ";

/// The child side: serves the relay in `dir` on loopback until stdin closes.
pub fn serve(dir: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(rapport_relay::BLOCKING_THREADS)
        .build()
        .context("starting the relay's runtime")?;
    runtime.block_on(async {
        // The light peers of the fan-out and propagation workloads all present one member's
        // token: up to 1,000 connections where a member's laptop would open a few.
        let config = RelayConfig {
            max_connections_per_token: 4_096,
            ..RelayConfig::default()
        };
        let relay = Relay::open(dir, config)
            .with_context(|| format!("opening the relay in {}", dir.display()))?;
        let public = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = public.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{BANNER}ws://{address}")?;
        stdout.flush()?;
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                std::io::stdin().read_to_end(&mut sink)
            })
            .await;
        };
        relay
            .serve(public, admin, stdin_closed)
            .await
            .context("serving the relay")
    })
}

/// A relay process the harness started.
pub struct RelayProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Where it listens (`ws://127.0.0.1:PORT`).
    pub url: String,
}

impl RelayProcess {
    /// Starts a relay over the data in `dir` and waits until it listens.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding this binary")?;
        let mut child = Command::new(exe)
            .arg("relay-process")
            .arg("--data")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the relay process")?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the relay process has no stdout"))?;
        let mut process = Self {
            child,
            stdin,
            url: String::new(),
        };
        let line = first_line(stdout, START_TIMEOUT).context("waiting for the relay to listen")?;
        process.url = line
            .strip_prefix(BANNER)
            .ok_or_else(|| anyhow!("the relay process said '{line}'"))?
            .to_owned();
        Ok(process)
    }

    /// The relay's resident memory now, in bytes (`VmRSS`).
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        status_kib(self.child.id(), "VmRSS:").map(|kib| kib * 1024)
    }

    /// The most resident memory the relay has had, in bytes (`VmHWM`).
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        status_kib(self.child.id(), "VmHWM:").map(|kib| kib * 1024)
    }

    /// The CPU time the relay has used so far, all its threads, in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(&self.child.id().to_string())
    }

    /// Kills the relay with SIGKILL, as a crash would, and waits for it to be gone.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().context("killing the relay process")?;
        self.child.wait().context("waiting for the killed relay")?;
        Ok(())
    }

    /// Asks the relay to stop (its stdin closes) and waits for it; kills it if it lingers.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stdin = None;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the relay process ended with {status}");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("the relay process did not stop within {STOP_TIMEOUT:?}")
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The first line `output` writes, within `timeout`; the rest is read and dropped in the
/// background so the writer never blocks on a full pipe.
pub fn first_line(output: impl Read + Send + 'static, timeout: Duration) -> anyhow::Result<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(output).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    match rx.recv_timeout(timeout) {
        Ok(Some(Ok(line))) => Ok(line.trim().to_owned()),
        Ok(Some(Err(error))) => Err(error.into()),
        Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            bail!("the process ended without a word")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => bail!("no answer within {timeout:?}"),
    }
}

/// A `kB` line of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("{path} has no {field} line"))
}

/// The CPU time (user and system, every thread) process `pid` (or `self`) has used, in seconds.
pub fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    // Linux reports these in USER_HZ, 100 per second whatever the kernel's own tick.
    const TICKS_PER_SECOND: f64 = 100.0;
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name, in parentheses, may hold spaces: count fields after its closing one.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("{path} has no command name"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = |i: usize| -> anyhow::Result<f64> {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .map(|t| t as f64)
            .ok_or_else(|| anyhow!("{path} has no field {}", i + 3))
    };
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}
