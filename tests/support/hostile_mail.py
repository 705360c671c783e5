"""Hostile inbound mail, built as raw bytes: many MIME parts, deep nesting."""


def many_parts(subject: str, sender: str, parts: int) -> bytes:
    """A multipart mail of `parts` one-line parts (150 000 of them make about 4.8 MB)."""
    head = (
        f"From: {sender}\r\nTo: confirm@complaints.localhost\r\nSubject: {subject}\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    ).encode()
    part = b"--b\r\nContent-Type: text/plain\r\n\r\nyes\r\n"
    return head + part * parts + b"--b--\r\n"


def nested(subject: str, sender: str, depth: int) -> bytes:
    """A mail whose multiparts nest `depth` deep around one text part saying yes."""
    head = f"From: {sender}\r\nTo: confirm@complaints.localhost\r\nSubject: {subject}\r\n"
    body = "Content-Type: text/plain\r\n\r\nyes\r\n"
    for level in range(depth):
        body = (
            f'Content-Type: multipart/mixed; boundary="n{level}"\r\n\r\n'
            f"--n{level}\r\n{body}--n{level}--\r\n"
        )
    return (head + "MIME-Version: 1.0\r\n" + body).encode()
