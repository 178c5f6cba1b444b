//! The real `dds` binary as a child process, for tests that kill it or measure its memory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `dds serve` child process, on an ephemeral port; killed when dropped.
pub struct Served {
    pub child: std::process::Child,
    pub base: String,
}

impl Served {
    pub fn start(data: &Path) -> Served {
        Served::start_with_args(data, &[])
    }

    /// Starts `dds serve` on `data` with these extra flags (e.g. `--brs-url URL`).
    pub fn start_with_args(data: &Path, args: &[&str]) -> Served {
        let config = data.join("dds.toml");
        if !config.exists() {
            std::fs::write(&config, "").unwrap();
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_dds"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("DDS_LISTEN")
            .env_remove("DDS_DATA")
            .env_remove("DDS_DATABASE_URL")
            .env_remove("DDS_CONFIG")
            .env_remove("DDS_ROLE")
            .env_remove("DDS_REGISTRY_URL")
            .env_remove("DDS_REPOSITORY_UNIQUE_ID")
            .env_remove("DDS_BRS_URL")
            .env_remove("DDS_BRS_ATTEMPTS_MAX")
            .env_remove("DDS_PATIENT_POLICY")
            .env_remove("DDS_OBJECT_STORE_URL")
            .env_remove("DDS_OBJECT_STORE_ENDPOINT")
            .env_remove("DDS_OBJECT_STORE_ACCESS_KEY_ID")
            .env_remove("DDS_OBJECT_STORE_SECRET_ACCESS_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(20);
        let base = loop {
            assert!(Instant::now() < deadline, "server did not start in time");
            let mut line = String::new();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "server exited before listening");
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                break addr.to_owned();
            }
        };
        // Keep draining stdout (logs) so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Served { child, base }
    }

    /// A `/proc/<pid>/status` field in kB.
    pub fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Sends SIGTERM (the graceful shutdown) and waits for the exit, at most a minute.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop within a minute of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
