"""Byte markers every layer recognizes (one definition each)."""

#: the UTF-8 byte order mark a file may start with
BOM = b"\xef\xbb\xbf"
#: the same mark as text (U+FEFF), as the fixer's --changes file names it
BOM_TEXT = BOM.decode("utf-8")
