"""Model code shared by the in-process engine and the Triton model server (runners/inference).

Each module wraps one model behind plain synchronous functions on numpy arrays; ``models.ModelSet``
loads them lazily and speaks the domain's value types.  Every weight comes from an installed wheel;
nothing is fetched at run time (``offline.py`` makes sure hub libraries never try).
"""
