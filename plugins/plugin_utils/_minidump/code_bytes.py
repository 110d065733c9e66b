# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module images and code bytes by address: from the dump, else from the image files found along the
symbol path (a symbol server, a folder of binaries).

Mini dumps hold a few hundred bytes around each thread's instruction
pointer and seldom the images; the image files give the rest of the code
(as the file has it: not relocated, which x64 code seldom needs).
"""

from __future__ import annotations

from .pe import load_image


class CodeBytes:
    """``images``: module -> pe.Image from elsewhere (symbols.Symbolizer.image), for images not in the dump."""

    def __init__(self, dump, memory, modules, images=None):
        self.dump = dump
        self.memory = memory
        self.modules = modules
        self.images = images

    def image(self, module):
        """The module's pe.Image: in the dump, else from ``images``; None without either."""
        image = load_image(self.dump, self.memory, module.base) if self.memory is not None else None
        if image is None and self.images is not None:
            image = self.images(module)
        return image

    def read(self, address, size):
        """``size`` bytes at ``address`` from the dump, else from the image of the module there; or None."""
        data = self.memory.read(address, size) if self.memory is not None else None
        if data is None:
            module = self.modules.find(address)
            image = self.image(module) if module is not None else None
            if image is not None and image.memory is not self.memory:
                data = image.memory.read(address, size)
        return data

    def read_up_to(self, address, size):
        """Up to ``size`` bytes from ``address``: all of them, else those of the dump's range there."""
        data = self.read(address, size)
        if data is None and self.memory is not None:
            where = self.memory.range_at(address)
            if where is not None:
                data = self.memory.read(address, min(size, where.end - address))
        return data
