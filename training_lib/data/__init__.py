"""Data: a folder of mixed files in, per-model datasets out.

`detect` tells a file's type from its bytes, `scan` walks a data root into the
`catalog`, `quality` flags and scores each file, `routing` hands models their files,
`features` caches decoded arrays and `loaders` turn a model's files into a `Dataset`.
File types are registered in `config.file_types`.
"""
