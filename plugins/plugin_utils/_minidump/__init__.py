# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows minidump reading and crash analysis on the controller, in pure Python (symbols aside).

Layers, each importing only those above it in this list:

* ``format``: raw structure layouts and constants; ``codes``: name tables;
  ``errors``: the one error class;
* ``reader``: the file (memory-mapped), its header and stream directory;
* one module per stream: ``system_info``, ``misc_info``, ``threads``,
  ``modules``, ``exception``, ``memory``, ``memory_info``, ``handles``;
  ``context`` for CPU contexts;
* ``pe``: module images found in dump memory; ``image_file``: module images
  from files; ``unwind``: stack walking;
* ``symbol_path``: WinDbg symbol paths, symbol stores and their cache;
  ``symbols``: function names and source lines from symbol files (with the
  PyPI package ``symbolic``);
* ``analyze``: the typed result (``Analysis``), ``!analyze``-style.
"""
