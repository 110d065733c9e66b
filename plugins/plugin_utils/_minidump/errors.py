# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error the minidump package raises."""

from __future__ import annotations


class MinidumpError(ValueError):
    """A file that is not a minidump, or is truncated or malformed where it matters.

    Raised by the reader when the header or the stream directory cannot be
    read, and by a stream parser when its stream is cut short or inconsistent
    (a count that does not fit, a location past the end of the file). The
    analysis catches it per stream and carries on without that stream, noting
    it in ``warnings``; only an unreadable header or directory fails a whole
    file. The message names what was wrong and where (the stream, the RVA).
    No other exception escapes for bad input.
    """
