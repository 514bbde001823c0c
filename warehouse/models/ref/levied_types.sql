-- SPEC §3 employment types: the insurance types levied on an employee of employment_type (用工形式, from the
-- latest attendance row up to P that carries it; none known is full-time). Sources: a part-timer (非全日制)
-- is levied work injury only (劳社部发〔2003〕12号《关于非全日制用工若干问题的意见》: the employer pays
-- work-injury insurance; pension and medical the worker joins as an individual); a retired re-hire (退休返聘)
-- is in a 劳务 relationship, not employment (最高人民法院 劳动争议解释（一）第32条), and an intern (实习, a
-- student) has no labour relationship (劳部发〔1995〕309号 第12条): nothing is levied on either. The ledger's
-- cells, the ledger population and the part-timer rules of §5 all read this one list.
CREATE OR REPLACE MACRO ref.levied_types(employment_type) AS
CASE coalesce(employment_type, 'full_time')
    WHEN 'full_time' THEN ['pension', 'medical', 'unemployment', 'work_injury', 'maternity']
    WHEN 'part_time' THEN ['work_injury']
    ELSE CAST([] AS VARCHAR[])
END;
