"""The aid sentinel (电子哨兵): social-aid recipients checked against the registries.

``checks`` runs the monthly check before payment and the enrolment check of new cases and
records each completed check; ``alert_lists`` writes the alert list each subdistrict verifies;
``dispositions`` reads the returned lists and builds the registries' correction lists;
``summary`` counts alerts and valid warnings by month, rule and subdistrict.
"""
