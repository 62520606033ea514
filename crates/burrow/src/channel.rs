//! The typed messages between the parent and the container process.
//!
//! One enum, framed as a 4-byte little-endian length and a JSON body over a
//! `SOCK_STREAM` socketpair (both ends close-on-exec). End of file is a
//! message too: after `Go`, it means the payload was exec'd.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, SetupError};

/// Everything that crosses the channel, in either direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// Parent → child: the id maps are written; go on with setup.
    Go,
    /// Child → parent: setup is done and a closure payload is starting
    /// (an exec'd payload is announced by end of file instead).
    Started,
    /// Child → parent: setup failed; the child exits after sending this.
    Failed(SetupError),
    /// Excursion → parent: the value the excursion's closure returned.
    Value(serde_json::Value),
    /// Excursion → parent: the process that ran inside the container
    /// ended like this.
    Exited(crate::ExitStatus),
}

const MAX_FRAME: usize = 16 << 20;

/// Send one message.
pub fn send(stream: &mut UnixStream, message: &Message) -> Result<()> {
    let body = serde_json::to_vec(message).map_err(|e| Error::Channel(e.to_string()))?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    stream
        .write_all(&frame)
        .map_err(|e| Error::io("sending on the parent/child channel", e))
}

/// Receive one message; `Ok(None)` at end of file.
pub fn recv(stream: &mut UnixStream) -> Result<Option<Message>> {
    let mut len = [0u8; 4];
    match read_full(stream, &mut len)? {
        0 => return Ok(None),
        4 => {}
        n => return Err(Error::Channel(format!("truncated frame header ({n} of 4 bytes)"))),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(Error::Channel(format!("frame of {len} bytes is too large")));
    }
    let mut body = vec![0u8; len];
    if read_full(stream, &mut body)? != len {
        return Err(Error::Channel("truncated frame body".into()));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| Error::Channel(format!("undecodable message: {e}")))
}

fn read_full(stream: &mut UnixStream, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the parent/child channel", e)),
        }
    }
    Ok(got)
}
