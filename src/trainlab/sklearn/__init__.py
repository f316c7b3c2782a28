"""scikit-learn estimators built on trainlab: ``MLPClassifier`` and ``MLPRegressor``.

    from trainlab.sklearn import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(128,), activation="relu", optimizer="adam",
                        epochs=30, early_stopping=True, random_state=0).fit(X_train, y_train)
    clf.score(X_test, y_test)

They pass ``sklearn.utils.estimator_checks.check_estimator`` and work in pipelines,
grid searches, ``clone`` and pickle. A fit is exactly ``trainlab.train.Trainer`` run on
``trainlab.models.build_mlp`` with one seed (see :mod:`trainlab.sklearn._base`).
"""

from trainlab.init import RECOMMENDED as RECOMMENDED_INIT
from trainlab.sklearn._params import InvalidParameterError
from trainlab.sklearn.classifier import MLPClassifier
from trainlab.sklearn.regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "RECOMMENDED_INIT", "InvalidParameterError"]
