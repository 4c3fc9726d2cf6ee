"""The code of a losstune pyfunc model (MLflow's "models from code"): MLflow copies this file
into the model and runs it when the model is loaded; the fitted model itself comes from the
model's pickled artifact (:meth:`losstune.runners.pyfunc.RawRowsModel.load_context`).

Not imported by losstune: running it registers the model with ``mlflow.models.set_model``.
"""

from mlflow.models import set_model

from losstune.runners.pyfunc import RawRowsModel

set_model(RawRowsModel())
