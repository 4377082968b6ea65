"""Problems and curriculum: cases grouped into recurring problem scenarios with stable ids, their trends per day,
week and version, and a training curriculum with active mining (``docs/curriculum.md``)."""
