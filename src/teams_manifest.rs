//! The Teams app package (`firebreak teams manifest`): `manifest.json` and
//! the two icons Teams requires, zipped, ready to upload.
//!
//! The zip and PNG writers are small and uncompressed on purpose: the
//! package is a few kilobytes, and a compression crate would cost build
//! time for nothing. Output is deterministic (fixed timestamps), so the
//! same arguments always give the same bytes.

use serde_json::{json, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("the app id `{0}` is not a GUID like 00000000-0000-0000-0000-000000000000")]
    AppId(String),
    #[error("the URL `{0}` must be https:// (http:// only for localhost)")]
    Url(String),
}

pub struct TeamsPackage {
    pub app_id: String,
    pub base_url: String,
    /// The base URL's host, the one domain the manifest lets Teams trust.
    pub host: String,
    pub name: String,
    pub version: String,
}

/// Firebreak orange.
const ACCENT: [u8; 3] = [0xE8, 0x59, 0x0C];

impl TeamsPackage {
    pub fn new(app_id: &str, base_url: &str) -> Result<Self, ManifestError> {
        if !is_guid(app_id) {
            return Err(ManifestError::AppId(app_id.to_owned()));
        }
        let base_url = base_url.trim_end_matches('/').to_owned();
        let Some(host) = allowed_host(&base_url) else {
            return Err(ManifestError::Url(base_url));
        };
        Ok(Self {
            app_id: app_id.to_ascii_lowercase(),
            host,
            base_url,
            name: "Firebreak".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
    }

    /// `manifest.json`, schema 1.17.
    pub fn manifest(&self) -> Value {
        let command =
            |title: &str, description: &str| json!({"title": title, "description": description});
        json!({
            "$schema": "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
            "manifestVersion": "1.17",
            "version": self.version,
            "id": self.app_id,
            "developer": {
                "name": self.name,
                "websiteUrl": self.base_url,
                "privacyUrl": format!("{}/privacy", self.base_url),
                "termsOfUseUrl": format!("{}/terms", self.base_url),
            },
            "name": {"short": self.name, "full": format!("{} incident response", self.name)},
            "description": {
                "short": "Declare and run incidents without leaving Teams.",
                "full": "Declare an incident with @Firebreak declare, and Firebreak opens its thread, keeps a headline card current, tracks severity, lead, roles and follow-up actions, reminds the lead to post updates, and keeps the timeline for the review.",
            },
            "icons": {"color": "color.png", "outline": "outline.png"},
            "accentColor": format!("#{:02X}{:02X}{:02X}", ACCENT[0], ACCENT[1], ACCENT[2]),
            "bots": [{
                "botId": self.app_id,
                "scopes": ["team", "personal", "groupChat"],
                "supportsFiles": false,
                "isNotificationOnly": false,
                "commandLists": [{
                    "scopes": ["team", "groupChat", "personal"],
                    "commands": [
                        command("declare", "Declare an incident: declare <title>"),
                        command("severity", "Set the severity: severity 1"),
                        command("status", "Show or move the status: status mitigated"),
                        command("lead", "Lead the incident, or hand it over: lead @name"),
                        command("close", "Close the incident"),
                        command("help", "Every command"),
                    ],
                }],
            }],
            "permissions": ["identity", "messageTeamMembers"],
            "validDomains": [self.host],
        })
    }

    /// The package: a zip of the manifest and the icons.
    pub fn zip(&self) -> Vec<u8> {
        let manifest = serde_json::to_vec_pretty(&self.manifest()).unwrap_or_default();
        zip(&[
            ("manifest.json", manifest),
            ("color.png", color_icon()),
            ("outline.png", outline_icon()),
        ])
    }
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The host Teams will be told to trust, if the URL may serve the bot:
/// https anywhere, plain http only on the machine itself. The host is
/// compared whole, so `http://localhost.evil.example` is still remote,
/// and a URL with credentials in it is refused outright.
fn allowed_host(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return None;
    }
    let host = parsed.host_str()?.to_owned();
    let local = matches!(host.as_str(), "localhost" | "127.0.0.1");
    match parsed.scheme() {
        "https" => Some(host),
        "http" if local => Some(host),
        _ => None,
    }
}

/// 192×192: an orange disc with a white flame-like bar.
fn color_icon() -> Vec<u8> {
    let size = 192;
    png(size, |x, y| {
        let (dx, dy) = (x as f32 - 95.5, y as f32 - 95.5);
        if dx * dx + dy * dy > 92.0 * 92.0 {
            return [0, 0, 0, 0];
        }
        if flame(x, y, size) {
            [255, 255, 255, 255]
        } else {
            [ACCENT[0], ACCENT[1], ACCENT[2], 255]
        }
    })
}

/// 32×32: the same mark in white on transparent, as Teams requires.
fn outline_icon() -> Vec<u8> {
    png(32, |x, y| {
        if flame(x, y, 32) {
            [255, 255, 255, 255]
        } else {
            [0, 0, 0, 0]
        }
    })
}

/// A tapering vertical stroke: wide at the base, pointed at the top.
fn flame(x: u32, y: u32, size: u32) -> bool {
    let (x, y, size) = (x as f32, y as f32, size as f32);
    let top = size * 0.2;
    let bottom = size * 0.8;
    if y < top || y > bottom {
        return false;
    }
    let half_width = size * 0.16 * (y - top) / (bottom - top);
    (x - size / 2.0).abs() <= half_width
}

/// An RGBA PNG whose pixels come from `pixel`; the image data is stored
/// in uncompressed deflate blocks.
fn png(size: u32, pixel: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..size {
        raw.push(0); // filter: none
        for x in 0..size {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (index, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(index + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut header = Vec::new();
    header.extend_from_slice(&size.to_be_bytes());
    header.extend_from_slice(&size.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(&data);
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    out
}

/// A zip of `files`, stored (not compressed), with a fixed timestamp.
fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (2026 - 1980) << 9 | 1 << 5 | 1;
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let entry = |signature: u32, central: bool| {
            let mut header = Vec::new();
            header.extend_from_slice(&signature.to_le_bytes());
            if central {
                header.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            header.extend_from_slice(&20u16.to_le_bytes()); // needed to extract
            header.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
            header.extend_from_slice(&0u16.to_le_bytes()); // stored
            header.extend_from_slice(&DOS_TIME.to_le_bytes());
            header.extend_from_slice(&DOS_DATE.to_le_bytes());
            header.extend_from_slice(&crc.to_le_bytes());
            header.extend_from_slice(&size.to_le_bytes());
            header.extend_from_slice(&size.to_le_bytes());
            header.extend_from_slice(&(name.len() as u16).to_le_bytes());
            header.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                header.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
                header.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                header.extend_from_slice(&offset.to_le_bytes());
            }
            header.extend_from_slice(name.as_bytes());
            header
        };
        out.extend_from_slice(&entry(0x0403_4b50, false));
        out.extend_from_slice(data);
        directory.extend_from_slice(&entry(0x0201_4b50, true));
    }
    let directory_offset = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    b << 16 | a
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "00000000-0000-4000-8000-00000000B07A";

    #[test]
    fn checksums_match_their_standard_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn the_manifest_names_the_bot_and_its_domain() {
        let package = TeamsPackage::new(APP, "https://bot.example.com/").expect("valid");
        let manifest = package.manifest();
        assert_eq!(manifest["id"], APP.to_ascii_lowercase());
        assert_eq!(manifest["bots"][0]["botId"], manifest["id"]);
        assert_eq!(manifest["manifestVersion"], "1.17");
        assert_eq!(manifest["validDomains"], json!(["bot.example.com"]));
        assert!(manifest["description"]["short"]
            .as_str()
            .is_some_and(|s| s.len() <= 80));
        assert!(matches!(
            TeamsPackage::new("nope", "https://x.org"),
            Err(ManifestError::AppId(_))
        ));
        assert!(matches!(
            TeamsPackage::new(APP, "http://bot.example.com"),
            Err(ManifestError::Url(_))
        ));
        assert!(TeamsPackage::new(APP, "http://localhost:8080").is_ok());
        assert!(TeamsPackage::new(APP, "http://127.0.0.1:8080").is_ok());
        for remote in [
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example/x",
            "http://localhost@evil.example",
            "https://user:secret@bot.example.com",
            "ftp://bot.example.com",
            "https://",
        ] {
            assert!(
                matches!(TeamsPackage::new(APP, remote), Err(ManifestError::Url(_))),
                "{remote} must be refused"
            );
        }
    }

    #[test]
    fn the_package_is_a_zip_python_can_read_with_valid_pngs() {
        let package = TeamsPackage::new(APP, "https://bot.example.com").expect("valid");
        let bytes = package.zip();
        assert_eq!(bytes, package.zip(), "deterministic");
        let dir = std::env::temp_dir().join(format!("firebreak-teams-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("app.zip");
        std::fs::write(&file, &bytes).expect("written");
        let check = r#"
import sys, zipfile, zlib, struct, json
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"], z.namelist()
json.loads(z.read("manifest.json"))
for name, size in (("color.png", 192), ("outline.png", 32)):
    data = z.read(name)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos+4]); kind = data[pos+4:pos+8]; body = data[pos+8:pos+8+length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos+8+length:pos+12+length])[0]
        if kind == b"IHDR": assert struct.unpack(">II", body[:8]) == (size, size)
        if kind == b"IDAT": idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(raw) == size * (1 + 4 * size)
    if name == "outline.png":
        for row in range(size):
            line = raw[row * (1 + 4 * size) + 1:(row + 1) * (1 + 4 * size)]
            for i in range(0, len(line), 4):
                assert line[i+3] == 0 or line[i:i+4] == b"\xff\xff\xff\xff"
print("ok")
"#;
        match std::process::Command::new("python3")
            .arg("-c")
            .arg(check)
            .arg(&file)
            .output()
        {
            Ok(output) => assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => eprintln!("python3 not available ({error}); zip checked by size only"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
