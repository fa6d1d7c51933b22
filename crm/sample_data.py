"""The made-up content of the demo data (crm.demo) and of the setup page's sample.

Texts and word lists in English and Russian. They are sample content, not interface strings,
so they stay here as data instead of going through gettext.
"""

# The lead sources by code, the range of deal values, and what the contact logs say. `moved_to`
# holds, for the second, third ... open stage, what a contact that moved the lead there was
# about; `lost` is in the order of the default lost reasons; each `next_steps` entry belongs to
# the open stage at the same place.
TEXTS = {
    "en": {
        "sources": {
            "website": "Website",
            "referral": "Referral",
            "cold_call": "Cold call",
            "exhibition": "Exhibition",
            "newsletter": "Email newsletter",
            "partner": "Partner",
        },
        # Deal values: from 1,500 to 40,000 in steps of 100.
        "value": (1500, 40000, 100),
        "moved_to": [
            [  # Interested
                (
                    "call",
                    "Cold call went well: spoke to the operations manager. They take orders "
                    "by phone and in Excel and lose some of them. Interested, asked for case "
                    "studies. Next time mention the wholesale distributor we automated.",
                ),
                (
                    "email",
                    "Replied to our email: they want to automate invoice approval. The "
                    "CFO decides; she is back from holiday on Monday.",
                ),
                (
                    "message",
                    "Wrote to us on WhatsApp: want to know more about the warehouse "
                    "module. Prefers messages to calls.",
                ),
            ],
            [  # Estimate requested
                (
                    "call",
                    "Asked for an estimate: connect their online shop to the accounting "
                    "system, about 300 orders a day. Need it by Friday; they are comparing us "
                    "with one more vendor.",
                ),
                (
                    "email",
                    "Sent their requirements (4 pages) and asked for a price and a "
                    "timeline. What matters most to them is the app for their couriers.",
                ),
                (
                    "meeting",
                    "Video call with the owner and their IT contractor. They want a "
                    "quote for a customer portal, no budget named. Remember: the contractor is "
                    "sceptical, prepare answers about hosting.",
                ),
            ],
            [  # Estimate made
                (
                    "email",
                    "Sent the estimate: two phases, six weeks in all. Stressed that phase "
                    "one needs nothing from their IT. Next time ask whether the CFO has seen it.",
                ),
                (
                    "call",
                    "Walked them through the estimate on the phone. Questions about "
                    "support after launch; promised to send the support terms in writing.",
                ),
            ],
            [  # Discussing the task
                (
                    "meeting",
                    "Meeting at their office: went through the order process step by "
                    "step. Found two more integrations (the bank and the delivery service). The "
                    "scope grows, update the estimate.",
                ),
                (
                    "call",
                    "Long call with the head of sales about the task: they need reports "
                    "by salesperson and by region. Agreed that moving the old data is on their "
                    "side.",
                ),
            ],
            [  # Discussing terms
                (
                    "meeting",
                    "Discussed terms with the managing director: they want 30% up "
                    "front instead of 50% and a fixed launch date. Agreed to consider paying in "
                    "three parts.",
                ),
                (
                    "email",
                    "They sent their own contract template. Our lawyer's comments by "
                    "Wednesday; the sticking points are the penalty clause and who owns the code.",
                ),
                (
                    "call",
                    "Haggled over the discount: they will sign if training for 10 users "
                    "is included. The 5% discount needs approval from our side.",
                ),
            ],
            [  # Signing the contract
                (
                    "email",
                    "Contract agreed and sent for e-signature. They pay the first "
                    "invoice after signing; the accountant's direct line is in the email.",
                ),
                (
                    "meeting",
                    "Met to sign; the director wants to read the schedule appendix once "
                    "more. Promised to sign this week.",
                ),
            ],
        ],
        "won": [
            (
                "call",
                "Contract signed and the deposit has arrived. Kick-off booked; handed "
                "over to the project team.",
            ),
            ("email", "Got the signed contract; the first invoice is paid. Welcome aboard!"),
            (
                "meeting",
                "Kick-off meeting: introduced the project manager, agreed on weekly "
                "status calls on Tuesdays.",
            ),
        ],
        "lost": [
            [  # Price too high
                (
                    "call",
                    "Our price is almost twice their budget. Offered a smaller first "
                    "phase; not interested for now. Could come back in the autumn.",
                ),
            ],
            [  # Chose a competitor
                (
                    "email",
                    "They chose another vendor who promised an off-the-shelf solution. "
                    "Asked to stay in touch; check in six months how it is going.",
                ),
            ],
            [  # No budget
                (
                    "call",
                    "This year's budget was cut and the project is on hold. The director "
                    "suggested calling again after next year's planning.",
                ),
            ],
            [  # Stopped responding
                (
                    "message",
                    "Third reminder without an answer, calls go unanswered too. Closing the lead.",
                ),
            ],
            [  # Not a fit for us
                (
                    "call",
                    "Turned out they need a simple website, not automation. Recommended "
                    "a partner studio.",
                ),
            ],
        ],
        "lost_other": [
            ("call", "They decided not to go ahead. The reason is noted on the lead."),
        ],
        "follow_ups": [
            ("call", "No answer. Sent a text asking when is a good time to call."),
            (
                "call",
                "The receptionist says the director is on holiday until next week. Call back then.",
            ),
            ("email", "Sent a reminder with our presentation and two case studies attached."),
            (
                "message",
                "Short chat on Telegram: they are closing the quarter, asked to talk "
                "again in a few days.",
            ),
            (
                "call",
                "Quick call: the decision is with the owner, who is travelling. Ask about "
                "their timeline next time.",
            ),
            (
                "meeting",
                "Met at the industry breakfast. Talked about their plans: a second "
                "warehouse opens in spring.",
            ),
            ("email", "Answered their questions about data security and where the servers are."),
            ("message", "Sent the link to the demo recording; they will watch it with the team."),
        ],
        "next_steps": [
            ["Get through to the decision maker", "Send the introductory presentation"],
            ["Send case studies and book a call with the director", "Ask about their timeline"],
            ["Prepare and send the estimate", "Check the order volume for the estimate"],
            ["Ask for feedback on the estimate", "Call the CFO about the estimate"],
            ["Send the updated scope", "Meet their IT contractor"],
            ["Send the draft contract with the new payment terms", "Get an answer on the discount"],
            ["Check that the contract is signed", "Remind them about the first invoice"],
        ],
    },
    "ru": {
        "sources": {
            "website": "Сайт",
            "referral": "Рекомендация",
            "cold_call": "Холодный звонок",
            "exhibition": "Выставка",
            "newsletter": "Email-рассылка",
            "partner": "Партнёр",
        },
        # Deal values in roubles: from 60 000 to 1 500 000 in steps of 5 000.
        "value": (60000, 1500000, 5000),
        "moved_to": [
            [  # Интересуется
                (
                    "call",
                    "Холодный звонок прошёл удачно: поговорил с руководителем отдела "
                    "продаж. Заказы принимают по телефону и в Excel, часть теряется. "
                    "Заинтересовались, попросили примеры внедрений. В следующий раз рассказать "
                    "про оптовую компанию, которую мы автоматизировали.",
                ),
                (
                    "email",
                    "Ответили на наше письмо: хотят автоматизировать согласование "
                    "счетов. Решает финансовый директор, она вернётся из отпуска в понедельник.",
                ),
                (
                    "message",
                    "Написали в WhatsApp: хотят подробнее про складской модуль. Удобнее "
                    "переписка, чем звонки.",
                ),
            ],
            [  # Запросили оценку
                (
                    "call",
                    "Попросили оценку: связать интернет-магазин с 1С, около 300 заказов "
                    "в день. Оценка нужна к пятнице, сравнивают нас ещё с одним подрядчиком.",
                ),
                (
                    "email",
                    "Прислали техническое задание на 4 страницах, просят цену и сроки. "
                    "Главное для них — приложение для курьеров.",
                ),
                (
                    "meeting",
                    "Созвонились по видео с собственником и их IT-подрядчиком. Нужна "
                    "оценка личного кабинета для клиентов, бюджет не назвали. Помнить: подрядчик "
                    "настроен скептически, заранее подготовить ответы про хостинг.",
                ),
            ],
            [  # Сделали оценку
                (
                    "email",
                    "Отправил оценку: два этапа, всего шесть недель. Подчеркнул, что для "
                    "первого этапа их программисты не нужны. В следующий раз спросить, видел ли "
                    "оценку финансовый директор.",
                ),
                (
                    "call",
                    "Прошлись по оценке по телефону. Были вопросы про поддержку после "
                    "запуска — обещал прислать условия поддержки письменно.",
                ),
            ],
            [  # Обсуждаем задачу
                (
                    "meeting",
                    "Встреча у них в офисе: разобрали обработку заказа по шагам. "
                    "Нашлись ещё две интеграции — банк и служба доставки. Объём растёт, обновить "
                    "оценку.",
                ),
                (
                    "call",
                    "Долгий разговор с коммерческим директором о задаче: нужны отчёты по "
                    "менеджерам и по регионам. Договорились, что перенос старой базы — на их "
                    "стороне.",
                ),
            ],
            [  # Обсуждаем условия
                (
                    "meeting",
                    "Обсудили условия с генеральным директором: хотят предоплату 30% "
                    "вместо 50% и твёрдую дату запуска. Договорились подумать об оплате в три "
                    "этапа.",
                ),
                (
                    "email",
                    "Прислали свой шаблон договора. Замечания нашего юриста — к среде; "
                    "спорные пункты — неустойка и права на код.",
                ),
                (
                    "call",
                    "Торговались о скидке: подпишут, если включим обучение 10 "
                    "сотрудников. Скидку 5% нужно согласовать у нас.",
                ),
            ],
            [  # Заключаем контракт
                (
                    "email",
                    "Договор согласован, отправили на подпись через ЭДО. Первый счёт "
                    "оплатят после подписания; прямой телефон бухгалтера — в письме.",
                ),
                (
                    "meeting",
                    "Встретились подписывать; директор хочет ещё раз перечитать "
                    "приложение со сроками. Подписать обещали на этой неделе.",
                ),
            ],
        ],
        "won": [
            (
                "call",
                "Договор подписан, предоплата пришла. Назначили стартовую встречу, "
                "передал проект команде.",
            ),
            ("email", "Получили подписанный договор, первый счёт оплачен. Работаем!"),
            (
                "meeting",
                "Провели стартовую встречу: познакомили с менеджером проекта, "
                "договорились о еженедельных созвонах по вторникам.",
            ),
        ],
        "lost": [
            [  # Слишком дорого
                (
                    "call",
                    "Наша цена почти вдвое выше их бюджета. Предложил урезанный первый "
                    "этап — пока не интересно. Можно вернуться осенью.",
                ),
            ],
            [  # Выбрали конкурента
                (
                    "email",
                    "Выбрали другого подрядчика, который обещал готовое решение. Просили "
                    "оставаться на связи; через полгода узнать, как у них дела.",
                ),
            ],
            [  # Нет бюджета
                (
                    "call",
                    "Бюджет на этот год урезали, проект заморожен. Директор советовал "
                    "позвонить после планирования на следующий год.",
                ),
            ],
            [  # Перестали отвечать
                (
                    "message",
                    "Третье напоминание без ответа, на звонки тоже не отвечают. Закрываю лид.",
                ),
            ],
            [  # Не наш клиент
                (
                    "call",
                    "Оказалось, им нужен простой сайт, а не автоматизация. Порекомендовал "
                    "студию-партнёра.",
                ),
            ],
        ],
        "lost_other": [
            ("call", "Решили не начинать проект. Причина указана в карточке."),
        ],
        "follow_ups": [
            ("call", "Не дозвонился. Написал сообщение, спросил, когда удобно созвониться."),
            (
                "call",
                "Секретарь сказала, что директор в отпуске до следующей недели. Перезвонить после.",
            ),
            ("email", "Отправил напоминание, приложил презентацию и два кейса."),
            (
                "message",
                "Коротко переписались в Telegram: у них закрытие квартала, просили "
                "вернуться к разговору через несколько дней.",
            ),
            (
                "call",
                "Короткий звонок: решение за собственником, он в командировке. В "
                "следующий раз спросить про сроки.",
            ),
            (
                "meeting",
                "Встретились на отраслевом завтраке. Говорили об их планах: весной "
                "открывают второй склад.",
            ),
            ("email", "Ответил на вопросы о безопасности данных и о том, где стоят серверы."),
            (
                "message",
                "Отправил ссылку на запись демонстрации, обещали посмотреть всей командой.",
            ),
        ],
        "next_steps": [
            ["Дозвониться до того, кто принимает решение", "Отправить вводную презентацию"],
            ["Отправить кейсы и договориться о звонке с директором", "Узнать их сроки"],
            ["Подготовить и отправить оценку", "Уточнить объём заказов для оценки"],
            ["Узнать мнение об оценке", "Позвонить финансовому директору по оценке"],
            ["Отправить обновлённый объём работ", "Встретиться с их IT-подрядчиком"],
            ["Отправить проект договора с новым графиком оплаты", "Получить ответ по скидке"],
            ["Проверить, подписан ли договор", "Напомнить об оплате первого счёта"],
        ],
    },
}


# Word lists for names and companies, "|"- or space-separated. Russian surnames are given in
# the masculine form; `feminine` makes the other. The phone patterns use "#" for a digit.
WORDS = {
    "en": {
        "male": "Oliver James Daniel Thomas Michael David Samuel Richard Andrew Peter George "
        "Harry Jack William Henry Edward Joseph Matthew Christopher Benjamin",
        "female": "Emma Sophie Charlotte Hannah Grace Laura Chloe Megan Lucy Rachel Emily "
        "Olivia Amelia Jessica Katherine Rebecca Victoria Eleanor Alice Helen",
        "surnames": "Smith Johnson Taylor Brown Wilson Evans Walker Wright Robinson Thompson "
        "Hughes Green Hall Clarke Patel Khan Murphy Campbell Bennett Fisher Wood Harris Lewis "
        "Young King Turner Baker Cooper Hill Ward Morris Moore Clark Jackson White Edwards "
        "Collins Stewart Morgan Bell Carter Phillips Mitchell Cook Parker Shaw Richardson "
        "Bailey Cox Palmer",
        "companies": "Northwind|Bluebell|Harbour|Greenfield|Apex|Riverside|Meridian|Copperleaf|"
        "Atlas|Oakridge|Silverline|Kestrel|Brightside|Hollow Oak|Cedar Lane|Pinnacle|Lumen|"
        "Fairway|Willow|Redwood|Marlow|Sterling|Blue Harbour|Evergreen|Quarry Hill|Nimbus|"
        "Foxglove|Granite Peak|Thistle|Orchard Valley|Beacon|Summit|Tidewater|Ivy House|"
        "Mosaic|Falcon|Juniper|Windmill|Clearview|Harper|Oldfield|Starling|Maple Leaf|"
        "Ironbridge|Lighthouse|Cobalt|Westbrook|Rosewood|Vantage|Hillcrest|Polar|Amberly|"
        "Crown|Trident|Old Mill|Keystone|Blackthorn|Elmwood|Kingfisher|Saffron",
        "trades": "Logistics|Bakery|Solicitors|Dental Clinic|Building Supplies|Veterinary "
        "Practice|Travel|Interiors|Freight|Property Management|Fitness|Engineering|Solar|"
        "Brewery|Furniture|Recruitment|Optics|Car Rentals|Landscaping|Printing|Accounting|"
        "Pet Supplies|Seafood|Care Homes|Stone|Hosting|Florists|Outdoor|Language School|"
        "Farms|Security Systems|Plumbing|Physiotherapy|Marine Services|Hotel|Events|"
        "Couriers|Home Textiles|Organic Foods|Windows",
        "forms": "| Ltd| Ltd| LLC| Group| & Co.| Inc.|",
        "domains": "com co.uk com io co.uk",
        "free_mail": "gmail.com outlook.com yahoo.co.uk icloud.com",
        "phones": "+44 20 #### ####|020 #### ####|07### ######|+44 7### ######|"
        "+44 161 ### ####|+1 (###) ###-####|+1 ###-###-####",
    },
    "ru": {
        "male": "Алексей Дмитрий Сергей Андрей Михаил Игорь Павел Николай Владимир Евгений "
        "Александр Иван Максим Артём Роман Олег Виктор Юрий Константин Григорий",
        "female": "Ольга Елена Наталья Татьяна Анна Мария Ирина Светлана Юлия Екатерина Дарья "
        "Ксения Марина Вера Людмила Галина Алёна Полина Софья Надежда",
        "surnames": "Иванов Смирнов Кузнецов Попов Соколов Лебедев Новиков Морозов Волков "
        "Козлов Васильев Фёдоров Орлов Зайцев Белов Егоров Павлов Семёнов Голубев Виноградов "
        "Богданов Воробьёв Михайлов Макаров Андреев Ковалёв Ильин Гусев Титов Кузьмин Баранов "
        "Куликов Степанов Яковлев Сорокин Романов Захаров Борисов Королёв Григорьев Медведев "
        "Никитин Жуков Фролов Крылов Осипов Тихонов Шевчук Бондаренко Чайковский Толстой",
        "companies": "Восток|Гранит|Альфа|Северный ветер|Ромашка|Меридиан|Вектор|Горизонт|"
        "Заря|Радуга|Союз|Магистраль|Кедр|Берёза|Сокол|Орион|Полярная звезда|Атлант|Мечта|"
        "Лидер|Эталон|Прогресс|Фортуна|Янтарь|Волна|Уют|Лаванда|Колос|Феникс|Байкал|Ладога|"
        "Кристалл|Успех|Надежда|Молния|Щит|Парус|Исток|Маяк|Олимп",
        "trades": "Торговый дом|Строительная компания|Пекарня|Стоматология|Транспортная "
        "компания|Типография|Автосервис|Рекламное агентство|Клиника|Мебельная фабрика|"
        "Юридическая фирма|Фитнес-клуб|Студия дизайна|Ресторан|Гостиница|Складской комплекс|"
        "Завод|Ателье|Аптека|Салон красоты|Языковая школа|Турагентство|Кондитерская|"
        "Охранное агентство|Бюро переводов|Сервисный центр|Ферма|Лаборатория|"
        "Клининговая компания|Оптовая база",
        "forms": "ООО|ООО|ООО|АО|ПАО|",
        "domains": "ru ru ru com",
        "free_mail": "mail.ru yandex.ru gmail.com bk.ru",
        "phones": "+7 (9##) ###-##-##|8 9## ### ## ##|8-9##-###-##-##|+79#########|"
        "+7 495 ###-##-##|8 (812) ###-##-##",
    },
}


# The team's own fields the demo adds, in the dataset's language: their labels; the cities
# (the country's own, by weight, then those of the other language's companies); the
# industries, each trade of the word lists (of either language) belonging to one of them by
# its place in the list; and what a client's second or third lead is called after the first.
FIELDS = {
    "en": {
        "labels": {
            "tax_id": "Tax ID",
            "city": "City",
            "website": "Website",
            "employees": "Employees",
            "industry": "Industry",
        },
        "cities": {
            "London": 30,
            "Manchester": 12,
            "Birmingham": 12,
            "Leeds": 8,
            "Glasgow": 7,
            "Bristol": 7,
            "Edinburgh": 6,
            "Liverpool": 6,
        },
        "abroad": {"Moscow": 3, "Saint Petersburg": 1},
        "industries": [
            "Retail and wholesale",
            "Construction",
            "Manufacturing",
            "Transport and logistics",
            "Healthcare",
            "Food and hospitality",
            "Business services",
            "Consumer services",
        ],
        "renewals": ["renewal", "new project"],
    },
    "ru": {
        "labels": {
            "tax_id": "ИНН",
            "city": "Город",
            "website": "Сайт",
            "employees": "Сотрудников",
            "industry": "Отрасль",
        },
        "cities": {
            "Москва": 35,
            "Санкт-Петербург": 15,
            "Екатеринбург": 8,
            "Новосибирск": 7,
            "Казань": 7,
            "Нижний Новгород": 6,
            "Краснодар": 6,
            "Самара": 5,
            "Владивосток": 5,
        },
        "abroad": {"Лондон": 1},
        "industries": [
            "Торговля",
            "Строительство",
            "Производство",
            "Транспорт и логистика",
            "Медицина",
            "Общепит и гостиницы",
            "Услуги для бизнеса",
            "Услуги для людей",
        ],
        "renewals": ["продление", "новый проект"],
    },
}

# Each trade's industry, by its place in FIELDS' lists.
RETAIL, BUILDING, MAKING, TRANSPORT, HEALTH, FOOD, BUSINESS, PEOPLE = range(8)
TRADE_INDUSTRIES = {
    "Logistics": TRANSPORT,
    "Bakery": FOOD,
    "Solicitors": BUSINESS,
    "Dental Clinic": HEALTH,
    "Building Supplies": RETAIL,
    "Veterinary Practice": HEALTH,
    "Travel": PEOPLE,
    "Interiors": BUILDING,
    "Freight": TRANSPORT,
    "Property Management": BUSINESS,
    "Fitness": PEOPLE,
    "Engineering": MAKING,
    "Solar": BUILDING,
    "Brewery": FOOD,
    "Furniture": MAKING,
    "Recruitment": BUSINESS,
    "Optics": RETAIL,
    "Car Rentals": PEOPLE,
    "Landscaping": BUILDING,
    "Printing": MAKING,
    "Accounting": BUSINESS,
    "Pet Supplies": RETAIL,
    "Seafood": RETAIL,
    "Care Homes": HEALTH,
    "Stone": MAKING,
    "Hosting": BUSINESS,
    "Florists": RETAIL,
    "Outdoor": RETAIL,
    "Language School": PEOPLE,
    "Farms": MAKING,
    "Security Systems": BUSINESS,
    "Plumbing": BUILDING,
    "Physiotherapy": HEALTH,
    "Marine Services": TRANSPORT,
    "Hotel": FOOD,
    "Events": PEOPLE,
    "Couriers": TRANSPORT,
    "Home Textiles": RETAIL,
    "Organic Foods": RETAIL,
    "Windows": BUILDING,
    "Торговый дом": RETAIL,
    "Строительная компания": BUILDING,
    "Пекарня": FOOD,
    "Стоматология": HEALTH,
    "Транспортная компания": TRANSPORT,
    "Типография": MAKING,
    "Автосервис": PEOPLE,
    "Рекламное агентство": BUSINESS,
    "Клиника": HEALTH,
    "Мебельная фабрика": MAKING,
    "Юридическая фирма": BUSINESS,
    "Фитнес-клуб": PEOPLE,
    "Студия дизайна": BUSINESS,
    "Ресторан": FOOD,
    "Гостиница": FOOD,
    "Складской комплекс": TRANSPORT,
    "Завод": MAKING,
    "Ателье": PEOPLE,
    "Аптека": HEALTH,
    "Салон красоты": PEOPLE,
    "Языковая школа": PEOPLE,
    "Турагентство": PEOPLE,
    "Кондитерская": FOOD,
    "Охранное агентство": BUSINESS,
    "Бюро переводов": BUSINESS,
    "Сервисный центр": PEOPLE,
    "Ферма": MAKING,
    "Лаборатория": HEALTH,
    "Клининговая компания": BUSINESS,
    "Оптовая база": RETAIL,
}

# The first two digits of a Russian company's ИНН: the region of the tax office it registered
# with, as a company in each city would have.
INN_REGIONS = {
    "Москва": "77",
    "Moscow": "77",
    "Санкт-Петербург": "78",
    "Saint Petersburg": "78",
    "Екатеринбург": "66",
    "Новосибирск": "54",
    "Казань": "16",
    "Нижний Новгород": "52",
    "Краснодар": "23",
    "Самара": "63",
    "Владивосток": "25",
}
