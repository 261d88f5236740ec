"""A one-feed deployment and its export files, for the tests of reading feeds."""

from sources.config import PipelineConfig


def deployment(tmp_path, path: str = "exports/*.csv") -> PipelineConfig:
    config = PipelineConfig.model_validate(
        {
            "sources": [
                {
                    "name": "dealers",
                    "kind": "dealer",
                    "path": path,
                    "entity_type": "company",
                    "columns": {
                        "source_record_id": "客户编号",
                        "name": "客户名称",
                        "phone": "电话",
                    },
                }
            ]
        }
    )
    return config.model_copy(update={"base_dir": tmp_path})


def write(tmp_path, name: str, text: str, encoding: str = "gb18030") -> None:
    folder = tmp_path / "exports"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(text.encode(encoding))
