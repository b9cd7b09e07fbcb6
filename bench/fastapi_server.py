"""The serving benchmark's Python baseline: FastAPI + uvicorn answering Open Inference Protocol V2 requests with
the same gradient-boosted model in scikit-learn (retrained at start by scripts/make-gbt-fixture.py's train()).

    /usr/bin/python3 bench/fastapi_server.py PORT
"""

import importlib.util
import pathlib
import sys

import numpy as np
import uvicorn
from fastapi import FastAPI, Request

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("gbt_fixture", ROOT / "scripts" / "make-gbt-fixture.py")
fixture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixture)
model = fixture.train()

app = FastAPI()


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/v2/models/gbt100/infer")
async def infer(request: Request):
    body = await request.json()
    tensor = body["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    y = model.predict(x)
    return {
        "model_name": "gbt100",
        "outputs": [{"name": "variable", "shape": [len(y), 1], "datatype": "FP32", "data": y.tolist()}],
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), workers=1, access_log=False, log_level="warning")
