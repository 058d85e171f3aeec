#!/usr/bin/env python3
"""p2pfs(8) from the argument parser: `p2pfs --experimental-dump-help` JSON
on stdin, a man(7) page on stdout. Every command, option and default comes
from the parser, so the page cannot drift from the binary; the sections the
parser does not know (files, signals, the service) are written here."""
import json
import sys


def roff(text):
    """Escapes text for roff: backslashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def paragraphs(text):
    """A discussion as roff paragraphs; indented lines stay as they are."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        if all(line.startswith("  ") for line in lines if line.strip()) or any(line.startswith("  ") for line in lines[1:]):
            head = [line for line in lines if not line.startswith("  ")]
            body = [line for line in lines if line.startswith("  ")]
            if head:
                out.append(".PP\n" + roff(" ".join(head)))
            out.append(".PP\n.nf\n.RS 4\n" + roff("\n".join(line.strip() for line in body)) + "\n.RE\n.fi")
        else:
            out.append(".PP\n" + roff(" ".join(line.strip() for line in lines)))
    return "\n".join(out)


def option_label(argument):
    names = []
    for name in argument.get("names", []):
        prefix = "--" if name["kind"] in ("long", "longWithSingleDash") else "-"
        if name["kind"] == "longWithSingleDash":
            prefix = "-"
        names.append("\\fB" + roff(prefix + name["name"]) + "\\fR")
    label = ", ".join(names) if names else "\\fI" + roff(argument.get("valueName", "")) + "\\fR"
    if argument["kind"] == "option":
        label += " \\fI" + roff(argument.get("valueName", "value")) + "\\fR"
    return label


def arguments_section(arguments):
    out = []
    for argument in arguments:
        if not argument.get("shouldDisplay", True):
            continue
        out.append(".TP\n" + option_label(argument))
        text = argument.get("abstract", "")
        if argument.get("defaultValue") is not None:
            text += " (default: %s)" % argument["defaultValue"]
        out.append(roff(text) if text else "")
        if argument.get("discussion"):
            out.append(roff(argument["discussion"] if isinstance(argument["discussion"], str) else ""))
    return "\n".join(out)


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else ""
    date = sys.argv[2] if len(sys.argv) > 2 else ""
    root = json.load(sys.stdin)["command"]
    name = root["commandName"]
    page = [
        '.TH P2PFS 8 "%s" "p2pfs %s" "System Administration"' % (date, version),
        ".SH NAME",
        "%s \\- %s" % (name, roff(root.get("abstract", ""))),
        ".SH SYNOPSIS",
    ]
    commands = [c for c in root.get("subcommands", []) if c.get("shouldDisplay", True) and c["commandName"] != "help"]
    for command in commands:
        page.append(".B %s %s\n[\\fIoptions\\fR]\n.br" % (name, command["commandName"]))
    page += [".SH DESCRIPTION", paragraphs(root.get("discussion", ""))]
    page.append(".SH COMMANDS")
    for command in commands:
        page.append('.SS "%s %s"' % (name, command["commandName"]))
        page.append(roff(command.get("abstract", "")))
        if command.get("discussion"):
            page.append(paragraphs(command["discussion"]))
        page.append(arguments_section(command.get("arguments", [])))
    daemon = next((c for c in commands if c["commandName"] == "daemon"), None)
    keys = [a["preferredName"]["name"] for a in (daemon or {}).get("arguments", [])
            if a.get("preferredName", {}).get("kind") == "long" and a["preferredName"]["name"] not in ("config", "help", "version")]
    page += [
        ".SH CONFIGURATION FILE",
        roff("p2pfs daemon --config FILE reads a TOML file whose keys are the daemon's long options without the dashes; "
             "a repeatable option takes an array of strings, a number option a number. Options on the command line "
             "override the file, the file overrides the defaults. A mistake names the file, the line and the key, "
             "and the daemon does not start. The keys:"),
        ".PP\n.RS 4\n" + roff(", ".join(keys)) + "\n.RE",
        ".SH SIGNALS",
        ".TP\n.B SIGHUP\n" + roff("Re-reads the configuration file (systemctl reload p2pfs). Exports and peers added or removed "
                                  "apply at once, without dropping connections or mounts; other changes are logged as "
                                  "\"needs restart\" and keep their running value. A file with a mistake keeps the running "
                                  "configuration and the log says why."),
        ".TP\n.BR SIGTERM \", \" SIGINT\n" + roff("Unregisters from the portmapper, closes the listeners and exits."),
        ".SH FILES",
        ".TP\n.I /etc/p2pfs/p2pfs.toml\n" + roff("The configuration of p2pfs.service, every key shown with its default."),
        ".TP\n.I /etc/p2pfs/NAME.toml\n" + roff("The configuration of p2pfs@NAME.service, one more node on the same host."),
        ".TP\n.I /var/lib/p2pfs\n" + roff("The node's persistent id (node-id); /var/lib/p2pfs/NAME for p2pfs@NAME.service."),
        ".SH SERVICE",
        roff("systemctl enable --now p2pfs starts the node at boot. The unit is Type=notify: it is started once NFS and the "
             "peer listener answer. Logs go to the journal (journalctl -u p2pfs). To mount the namespace at boot, add to /etc/fstab:"),
        ".PP\n.nf\n.RS 4\n" + roff("localhost:/ /mnt/p2p nfs _netdev,nofail,x-systemd.requires=p2pfs.service 0 0") + "\n.RE\n.fi",
        ".SH SEE ALSO",
        ".BR mount.nfs (8),\n.BR nfs (5),\n.BR systemctl (1),\n.BR journalctl (1)",
    ]
    print("\n".join(line for line in page if line != ""))


main()
