//! Parsers for what `tgtadm` prints: `--mode target --op show`,
//! `--mode account --op show` and `--mode target --op stat`.
//!
//! tgtd indents by four spaces per level and does not say whether an ACL
//! entry is an address or an initiator name; names are told apart by their
//! `iqn.`, `eui.` or `naa.` prefix.

use super::{Lun, LunStats, Session, Target};

/// Nesting level of a line (four spaces each) and its trimmed text.
fn level(line: &str) -> (usize, &str) {
    let indent = line.len() - line.trim_start_matches(' ').len();
    (indent / 4, line.trim())
}

/// Whether an ACL entry is an initiator name rather than an address.
pub fn is_initiator_name(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    ["iqn.", "eui.", "naa."]
        .iter()
        .any(|p| lower.starts_with(p))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Other,
    Nexus,
    Luns,
    Accounts,
    Acls,
}

/// Parses `tgtadm --lld iscsi --mode target --op show`.
pub fn parse_targets(text: &str) -> Result<Vec<Target>, String> {
    let mut targets: Vec<Target> = Vec::new();
    let mut section = Section::Other;
    for (number, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let (depth, line) = level(raw);
        let bad = |what: &str| format!("line {}: {what}: {raw:?}", number + 1);
        if depth == 0 {
            let rest = line
                .strip_prefix("Target ")
                .ok_or_else(|| bad("expected \"Target N: name\""))?;
            let (tid, iqn) = rest
                .split_once(": ")
                .ok_or_else(|| bad("expected \"Target N: name\""))?;
            targets.push(Target {
                tid: tid.parse().map_err(|_| bad("bad target id"))?,
                iqn: iqn.trim().to_owned(),
                ..Target::default()
            });
            section = Section::Other;
            continue;
        }
        let target = targets
            .last_mut()
            .ok_or_else(|| bad("indented line before any target"))?;
        if depth == 1 {
            section = match line {
                "I_T nexus information:" | "Session information:" => Section::Nexus,
                "LUN information:" => Section::Luns,
                "Account information:" => Section::Accounts,
                "ACL information:" => Section::Acls,
                _ => Section::Other,
            };
            continue;
        }
        match section {
            Section::Other => {}
            Section::Nexus => parse_nexus_line(target, depth, line).map_err(|e| bad(&e))?,
            Section::Luns => parse_lun_line(target, depth, line).map_err(|e| bad(&e))?,
            Section::Accounts => match line.strip_suffix(" (outgoing)") {
                Some(user) => target.outgoing_account = Some(user.to_owned()),
                None => target.accounts.push(line.to_owned()),
            },
            Section::Acls => {
                if is_initiator_name(line) {
                    target.initiator_names.push(line.to_owned());
                } else {
                    target.initiator_addresses.push(line.to_owned());
                }
            }
        }
    }
    Ok(targets)
}

fn parse_nexus_line(target: &mut Target, depth: usize, line: &str) -> Result<(), String> {
    if depth == 2 {
        let id = line
            .strip_prefix("I_T nexus: ")
            .or_else(|| line.strip_prefix("Session: "))
            .ok_or("expected \"I_T nexus: N\"")?;
        target.sessions.push(Session {
            id: id.trim().parse().map_err(|_| "bad nexus id")?,
            ..Session::default()
        });
        return Ok(());
    }
    let Some(session) = target.sessions.last_mut() else {
        return Err("session detail before any session".to_owned());
    };
    if let Some(rest) = line.strip_prefix("Initiator: ") {
        // `Initiator: iqn.x alias: none`
        let name = rest.split(" alias: ").next().unwrap_or(rest);
        session.initiator = name.trim().to_owned();
    } else if let Some(cid) = line.strip_prefix("Connection: ") {
        session
            .connections
            .push(cid.trim().parse().map_err(|_| "bad connection id")?);
    } else if let Some(addr) = line.strip_prefix("IP Address: ") {
        session.addresses.push(addr.trim().to_owned());
    }
    Ok(())
}

fn yes(value: &str) -> bool {
    value.eq_ignore_ascii_case("yes")
}

fn parse_lun_line(target: &mut Target, depth: usize, line: &str) -> Result<(), String> {
    if depth == 2 {
        let n = line.strip_prefix("LUN: ").ok_or("expected \"LUN: N\"")?;
        target.luns.push(Lun {
            lun: n.trim().parse().map_err(|_| "bad LUN number")?,
            ..Lun::default()
        });
        return Ok(());
    }
    let Some(lun) = target.luns.last_mut() else {
        return Err("LUN detail before any LUN".to_owned());
    };
    let Some((key, value)) = line.split_once(':') else {
        return Ok(());
    };
    let value = value.trim();
    match key {
        "Type" => lun.kind = value.to_owned(),
        // `Size: 67 MB, Block size: 512`
        "Size" => {
            lun.size_mb = value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
        "Online" => lun.online = yes(value),
        "Readonly" => lun.read_only = yes(value),
        "Backing store type" => lun.backing_type = value.to_owned(),
        "Backing store path" => {
            lun.backing_path = (value != "None" && !value.is_empty()).then(|| value.to_owned());
        }
        _ => {}
    }
    Ok(())
}

/// Parses `tgtadm --lld iscsi --mode account --op show`: one user a line
/// after `Account list:` (nothing at all when there is no account).
pub fn parse_accounts(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Account list:")
        .map(str::to_owned)
        .collect()
}

/// Parses `tgtadm --lld iscsi --mode target --op stat --tid N`: a header,
/// then one line per LUN and session with byte and command counts.
pub fn parse_stats(text: &str) -> Result<Vec<LunStats>, String> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0] == "tgt" {
            continue;
        }
        let num = |i: usize| -> Result<u64, String> {
            fields
                .get(i)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| format!("line {}: bad stat line {line:?}", number + 1))
        };
        // tgt lun sid rd_subm(bytes cmds) rd_done(bytes cmds)
        // wr_subm(bytes cmds) wr_done(bytes cmds) errs
        out.push(LunStats {
            lun: u32::try_from(num(1)?).map_err(|_| format!("bad LUN in {line:?}"))?,
            session: num(2)?,
            read_bytes: num(5)?,
            written_bytes: num(9)?,
            errors: num(11)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output of tgt 1.0.85 for one target with an open session.
    const SHOW: &str = "\
Target 1: iqn.2010-10.org.m2:node-abc
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 4
            Initiator: iqn.2020-01.org.x:init2 alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            SCSI SN: beaf10
            Size: 0 MB, Block size: 1
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: No
            SWP: No
            Thin-provisioning: No
            Backing store type: null
            Backing store path: None
            Backing store flags: 
        LUN: 1
            Type: disk
            SCSI ID: IET     00010001
            SCSI SN: beaf11
            Size: 67 MB, Block size: 512
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: Yes
            SWP: No
            Thin-provisioning: No
            Backing store type: rbd
            Backing store path: m2-disks/c1
            Backing store flags: 
    Account information:
        u1
        out1 (outgoing)
    ACL information:
        10.0.0.5
        iqn.2020-01.org.x:init2
Target 2: iqn.2010-10.org.m2:node-def
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Size: 0 MB, Block size: 1
            Backing store type: null
            Backing store path: None
    Account information:
    ACL information:
";

    #[test]
    fn targets() {
        let targets = parse_targets(SHOW).unwrap();
        assert_eq!(targets.len(), 2);
        let t = &targets[0];
        assert_eq!(t.tid, 1);
        assert_eq!(t.iqn, "iqn.2010-10.org.m2:node-abc");
        assert_eq!(t.luns.len(), 2);
        assert_eq!(t.luns[0].kind, "controller");
        assert_eq!(t.luns[0].backing_path, None);
        let lun = t.lun(1).unwrap();
        assert_eq!(lun.kind, "disk");
        assert_eq!(lun.size_mb, 67);
        assert!(lun.online);
        assert!(lun.read_only);
        assert_eq!(lun.backing_type, "rbd");
        assert_eq!(lun.backing_path.as_deref(), Some("m2-disks/c1"));
        assert_eq!(t.accounts, ["u1"]);
        assert_eq!(t.outgoing_account.as_deref(), Some("out1"));
        assert_eq!(t.initiator_names, ["iqn.2020-01.org.x:init2"]);
        assert_eq!(t.initiator_addresses, ["10.0.0.5"]);
        assert_eq!(t.sessions.len(), 1);
        assert_eq!(t.sessions[0].id, 4);
        assert_eq!(t.sessions[0].initiator, "iqn.2020-01.org.x:init2");
        assert_eq!(t.sessions[0].addresses, ["127.0.0.1"]);
        assert_eq!(t.sessions[0].connections, [0]);

        let t = &targets[1];
        assert_eq!((t.tid, t.iqn.as_str()), (2, "iqn.2010-10.org.m2:node-def"));
        assert_eq!(t.luns.len(), 1);
        assert!(t.lun(1).is_none());
        assert!(t.accounts.is_empty() && t.outgoing_account.is_none());
        assert!(t.initiator_names.is_empty() && t.sessions.is_empty());

        assert!(parse_targets("").unwrap().is_empty());
    }

    #[test]
    fn bad_show_output() {
        assert!(parse_targets("Something else\n").is_err());
        assert!(parse_targets("    LUN information:\n").is_err());
        assert!(parse_targets("Target x: iqn.a\n").is_err());
        assert!(parse_targets("Target 1: iqn.a\n    LUN information:\n        LUN: z\n").is_err());
    }

    #[test]
    fn acl_kinds() {
        for name in [
            "iqn.2010-04.org.ipxe:abc",
            "IQN.X",
            "eui.02004567A425678D",
            "naa.52004567BA64678D",
        ] {
            assert!(is_initiator_name(name), "{name}");
        }
        for addr in ["ALL", "127.0.0.1", "10.0.0.0/8", "fe80::1"] {
            assert!(!is_initiator_name(addr), "{addr}");
        }
    }

    #[test]
    fn accounts() {
        assert_eq!(
            parse_accounts("Account list:\n    u1\n    out1\n"),
            ["u1", "out1"]
        );
        assert!(parse_accounts("").is_empty());
    }

    #[test]
    fn stats() {
        let text = "\
tgt lun sid rd_subm(bytes,cmds) rd_done(bytes,cmds) wr_subm(bytes,cmds) wr_done(bytes,cmds) errs
  1   0   4            0      0            0      0            0      0            0      0    0
  1   1   4     71671840  17499     71540768  17467         4096      1         4096      1    1
";
        let stats = parse_stats(text).unwrap();
        assert_eq!(stats.len(), 2);
        assert_eq!(
            stats[1],
            LunStats {
                lun: 1,
                session: 4,
                read_bytes: 71540768,
                written_bytes: 4096,
                errors: 1
            }
        );
        assert!(parse_stats("tgt lun\n").unwrap().is_empty());
        assert!(parse_stats("1 x\n").is_err());
    }
}
